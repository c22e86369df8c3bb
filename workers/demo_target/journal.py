"""The demo target's durable memory: idempotency keys, the action log, webhook replays, state.

One SQLite file in WAL mode with ``synchronous=FULL``. An applied mutation, the response stored
for its idempotency key and the state it left are written in one transaction, committed before
the response is sent. A demo target killed with SIGKILL and started again therefore answers a
retried key with the stored response instead of applying it a second time, and its action log
still lists every mutation exactly once. Without a path the journal lives in memory (tests and
in-process apps start fresh).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

FILE_NAME = "demo_target.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status_code INTEGER NOT NULL,
    body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL, body TEXT NOT NULL,
    idempotency_key TEXT, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS replays (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL, tenant TEXT NOT NULL,
    endpoint TEXT NOT NULL, idempotency_key TEXT, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
"""


class DemoJournal:
    """Reads and writes the demo target's durable memory.

    Args:
        path: SQLite file; ``None`` keeps everything in memory.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, guarded by a lock: the app's handlers run on the event loop, but
        # nothing stops a caller from using the journal from another thread.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path) if path is not None else ":memory:", check_same_thread=False
        )
        with self._lock:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                # FULL: the commit is on disk before the response leaves, so a retry after a
                # crash finds the key even if the machine lost power, not only the process.
                self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._db.commit()

    def load_state(self) -> dict[str, Any] | None:
        """Return the last saved state, or ``None`` when nothing was saved."""
        row = self._query("SELECT body FROM state WHERE id = 1")
        return json.loads(row[0][0]) if row else None

    def load_responses(self) -> list[tuple[str, str, int, dict[str, Any]]]:
        """Return every stored response as (key, fingerprint, status code, body)."""
        rows = self._query("SELECT key, fingerprint, status_code, body FROM responses")
        return [(key, fp, code, json.loads(body)) for key, fp, code, body in rows]

    def load_actions(self) -> list[tuple[str, dict[str, Any], str | None, str]]:
        """Return the action log in order as (action, body, idempotency key, applied at)."""
        rows = self._query("SELECT action, body, idempotency_key, at FROM actions ORDER BY seq")
        return [(action, json.loads(body), key, at) for action, body, key, at in rows]

    def load_replays(self) -> list[tuple[str, str, str, str | None, str]]:
        """Return the webhook replays in order as (delivery, tenant, endpoint, key, at)."""
        rows = self._query(
            "SELECT delivery_id, tenant, endpoint, idempotency_key, at FROM replays ORDER BY seq"
        )
        return [(d, t, e, k, at) for d, t, e, k, at in rows]

    def commit_action(
        self,
        *,
        action: str,
        body: dict[str, Any],
        key: str | None,
        at: str,
        response: tuple[str, int, dict[str, Any]] | None,
        state: dict[str, Any],
    ) -> None:
        """Durably record one applied mutation, its stored response and the resulting state.

        Args:
            action: What was applied (``scale``, ``restart``, ...).
            body: The request body, as logged.
            key: Its idempotency key, if any.
            at: When it was applied (ISO 8601).
            response: (fingerprint, status code, body) to replay for ``key``; ``None`` without
                a key.
            state: The state after the mutation.
        """
        with self._lock, self._db:
            if key is not None and response is not None:
                fingerprint, status_code, answer = response
                self._db.execute(
                    "INSERT INTO responses VALUES (?, ?, ?, ?)",
                    (key, fingerprint, status_code, json.dumps(answer)),
                )
            self._db.execute(
                "INSERT INTO actions (action, body, idempotency_key, at) VALUES (?, ?, ?, ?)",
                (action, json.dumps(body), key, at),
            )
            self._save_state(state)

    def save_state(self, state: dict[str, Any]) -> None:
        """Durably replace the saved state (fault injection, which logs no action)."""
        with self._lock, self._db:
            self._save_state(state)

    def record_replays(self, replays: list[tuple[str, str, str, str | None, str]]) -> None:
        """Durably append webhook replays as (delivery, tenant, endpoint, key, at)."""
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO replays (delivery_id, tenant, endpoint, idempotency_key, at) "
                "VALUES (?, ?, ?, ?, ?)",
                replays,
            )

    def clear(self) -> None:
        """Forget everything (``POST /admin/reset``)."""
        with self._lock, self._db:
            for table in ("responses", "actions", "replays", "state"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def _save_state(self, state: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO state (id, body) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (json.dumps(state),),
        )

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql).fetchall())
