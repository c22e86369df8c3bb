"""Steward extension pack for PostgreSQL: end sessions, check SQL thresholds.

Items (registered through entry points, see ``pyproject.toml``):

- ``pg.cancel_backend`` / ``pg.terminate_backend`` (actuators, irreversible);
- ``pg.query_below`` (check);
- ``pg_kill_long_queries`` (playbook).
"""

__version__ = "0.1.0"
