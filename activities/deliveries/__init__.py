"""Webhook deliveries in the app database: triage, replay advice and burst detection activities."""
