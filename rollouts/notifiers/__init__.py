"""Notification services (webhook, Slack, PagerDuty, Alertmanager), one module each behind a small protocol."""
