"""Logging setup and the Prometheus /metrics registry of the controller."""
