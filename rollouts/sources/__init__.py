"""Where an Application's manifests come from: Git repositories (`sources.git`) and the rendering of a path in
a checkout into manifests (`sources.render`: plain YAML/JSON directories and Kustomize folders).

A plug-in layer beside providers/routers/notifiers: it runs `git` and `kubectl kustomize` as subprocesses and
reads files, and returns plain data (commit SHAs, directories, manifest dicts). It never talks to the API server
(no `kubernetes`, no kopf); the orchestration in `rollouts.reconcile` glues it to `rollouts.kube`.
"""
