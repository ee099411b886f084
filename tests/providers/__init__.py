"""Metric providers: config parsing, answer mapping and the calls themselves (against local servers)."""
