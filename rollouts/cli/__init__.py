"""The `rollwave` command line (also `kubectl rollwave`)."""
