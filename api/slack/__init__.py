"""Slack: approval messages, signed interactions and the /steward command."""
