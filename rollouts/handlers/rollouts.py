"""Rollouts are reconciled by `reconcile.rollout` from the work queue the watch handlers feed."""

from __future__ import annotations

from rollouts.handlers import operator
from rollouts.reconcile import rollout

operator.register_reconciler("rollouts", rollout.reconcile)
