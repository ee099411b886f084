"""Kubernetes adapters: the only package that imports the `kubernetes` client.

Each module wraps one kind of object (ReplicaSets, Services, Events, status). API errors are translated once,
in `kube.errors`, into a small tree the rest of rollwave can catch.
"""
