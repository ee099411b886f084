"""rollwave: progressive delivery (Argo Rollouts compatible) and wave-ordered sync for Kubernetes.

Importing this package has no side effects. The layers, outermost first (checked by import-linter):

    cli | handlers            entry points: the `rollwave` CLI and the kopf handlers
    reconcile                 read the cluster, ask the core, apply the decision, write status once
    providers | routers | notifiers   plug-in families, one module per member
    kube                      Kubernetes adapters: the only package that talks to the API server
    core                      pure decisions on plain data (no I/O, no clock, no logging)
    model                     plain data: typed views of our resources, parsed from dicts
"""

__version__ = "0.1.0"
