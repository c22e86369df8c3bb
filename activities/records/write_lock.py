"""One queue for every record writer of a SQLite database on this machine.

SQLite admits one writer at a time, and a writer that finds the database locked backs off in
sleeps of up to 100 ms. With several worker processes, record writes would spend their time in
those sleeps; queueing them on a lock file instead wakes each one the moment the previous one
commits. PostgreSQL needs none of this.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine


class FileWriteLock:
    """A lock held by one thread of one process at a time: a mutex, then ``flock`` on a file.

    The file descriptor stays open for the process's lifetime; the kernel releases the lock if
    the process dies, so a killed worker never leaves the others waiting.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mutex = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> FileWriteLock:
        self._mutex.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()


def record_write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """The lock record writers take around each write transaction on ``engine``.

    A SQLite file gets a :class:`FileWriteLock` on ``<database>.write-lock`` beside it; an
    in-memory SQLite database a plain mutex; other databases none.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    database = engine.url.database
    if database in (None, "", ":memory:"):
        return threading.Lock()
    return FileWriteLock(Path(database).with_name(Path(database).name + ".write-lock"))
