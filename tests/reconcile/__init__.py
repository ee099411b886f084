"""Orchestration: one reconcile pass, with the cluster and the providers replaced by in-process fakes."""
