"""The local control plane for tests and demos: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
kwok and etcd built from Go modules, plus Debian's Prometheus and Alertmanager, all on 127.0.0.1.

Binaries are built once into a cache outside the repo (keyed by versions); every step is idempotent.
"""
