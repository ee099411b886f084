"""AnalysisRuns are reconciled by `reconcile.analysisrun` from the work queue the watch handlers feed."""

from __future__ import annotations

from rollouts.handlers import operator
from rollouts.reconcile import analysisrun

operator.register_reconciler("analysisruns", analysisrun.reconcile)
