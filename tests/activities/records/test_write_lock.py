"""The record writers' lock: one holder across threads and processes, freed when a holder dies."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import create_engine

from activities.records.write_lock import FileWriteLock, record_write_lock

HOLD = """
import sys, time
from pathlib import Path
from activities.records.write_lock import FileWriteLock
lock = FileWriteLock(Path(sys.argv[1]))
lock.__enter__()
print("held", flush=True)
time.sleep(60)
"""


def test_a_holder_in_another_process_blocks_until_it_dies(tmp_path: Path) -> None:
    path = tmp_path / "steward.db.write-lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        acquired = threading.Event()

        def take() -> None:
            with FileWriteLock(path):
                acquired.set()

        waiter = threading.Thread(target=take, daemon=True)
        waiter.start()
        assert not acquired.wait(0.5), "the lock was taken while another process held it"
        holder.kill()  # a killed worker: the kernel releases its lock
        assert acquired.wait(5)
    finally:
        holder.kill()
        holder.wait()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = FileWriteLock(tmp_path / "db.write-lock")
    inside, overlaps = [0], []

    def work() -> None:
        for _ in range(200):
            with lock:
                inside[0] += 1
                overlaps.append(inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(overlaps) == 800 and max(overlaps) == 1


def test_each_database_kind_gets_its_lock(tmp_path: Path) -> None:
    sqlite_file = record_write_lock(create_engine(f"sqlite:///{tmp_path / 'steward.db'}"))
    assert isinstance(sqlite_file, FileWriteLock)
    with sqlite_file:
        assert (tmp_path / "steward.db.write-lock").exists()
    in_memory = record_write_lock(create_engine("sqlite://"))
    assert isinstance(in_memory, type(threading.Lock()))
    postgres = record_write_lock(create_engine("postgresql+psycopg://u@127.0.0.1/db"))
    with postgres:
        pass  # PostgreSQL needs no queue: a no-op
    assert not isinstance(postgres, FileWriteLock)
