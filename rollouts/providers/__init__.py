"""Metric providers for analysis, one module each behind `providers.base.MetricProvider`.

A provider knows how to ask; it never judges the answer (`core.analysis` applies the conditions).
"""
