"""Alerts as Slack-compatible webhook posts (incoming webhooks take `{"text": ...}`)."""
