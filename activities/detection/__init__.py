"""Monitors' scoring: fetch a window from a source, score it with the configured detector."""
