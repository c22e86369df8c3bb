"""Opening incidents from inside workflows (monitors, alerts, forecasts)."""
