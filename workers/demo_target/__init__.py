"""A small FastAPI service standing in for production: metrics, faults and an admin API."""

from workers.demo_target.app import create_app
from workers.demo_target.model import DemoState, DemoTarget, Faults, Metrics

__all__ = ["DemoState", "DemoTarget", "Faults", "Metrics", "create_app"]
