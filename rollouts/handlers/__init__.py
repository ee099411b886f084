"""kopf entry points only: decorators, kopf error types and the operator's startup. No decisions live here."""
