"""One writer per warehouse: a lock file beside the warehouse, held for a whole run.

The lock is an exclusive ``flock`` on ``<warehouse>.lock``: the operating system releases it when
the holding process exits in any way (a kill included), so a lock of a dead process is simply taken
over. The file holds the holder's PID, host, start time and command, so a second run can say in one
sentence who holds it. Within one process the lock is re-entrant: ``fairshare run`` takes it before
anything is read, and the Dagster run it executes in-process takes it again without waiting.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseLocked(Exception):
    """Another process holds the warehouse lock (exit status 2)."""


_held: dict[str, tuple[int, int]] = {}  # lock path -> (file descriptor, depth), for this process
_guard = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def holder(warehouse: Path) -> dict | None:
    """Who holds the lock now (PID, host, start time, command), or None when it is free."""
    path = lock_path(warehouse)
    if not path.exists():
        return None
    if str(path.resolve()) in _held:
        return _describe(path)
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _describe(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def describe_holder(info: dict | None) -> str:
    if not info:
        return "another process"
    started = info.get("gestart", "?")
    return f"process {info.get('pid', '?')} on {info.get('host', '?')} (started {started}: {info.get('opdracht', '?')})"


def file_holder(exc: Exception) -> str | None:
    """Who holds a DuckDB file open, read from DuckDB's refusal to open it (``python3.11 (PID 123)``, or
    ``another program`` when DuckDB does not say); None when the refusal is not a lock conflict.

    DuckDB's own lock is separate from the warehouse lock above: any program with the file open holds it,
    an analyst's DuckDB or a reader as much as a run.
    """
    text = str(exc)
    if "lock" not in text.lower():
        return None
    found = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", text)
    return f"{found.group(1)} (PID {found.group(2)})" if found else "another program"


@contextmanager
def hold(warehouse: Path, wait: float = 0.0, poll: float = 0.2) -> Iterator[None]:
    """Hold the warehouse lock for the block; wait up to ``wait`` seconds for it, else raise ``WarehouseLocked``."""
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    with _guard:
        if key in _held:  # re-entrant within this process
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _guard:
                fd, depth = _held[key]
                _held[key] = (fd, depth - 1)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                info = _describe(path)
                os.close(fd)
                waited = f" after waiting {wait:g}s" if wait else ""
                raise WarehouseLocked(
                    f"the warehouse {warehouse} is in use by {describe_holder(info)}{waited}: "
                    "wait for that run to finish, or use --wait SECONDS"
                ) from None
            time.sleep(poll)
    os.ftruncate(fd, 0)
    os.pwrite(
        fd,
        json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "gestart": dt.datetime.now().isoformat(timespec="seconds"),
                "opdracht": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[
                    :300
                ],
            }
        ).encode(),
        0,
    )
    with _guard:
        _held[key] = (fd, 1)
    try:
        yield
    finally:
        with _guard:
            _held.pop(key, None)
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing releases the flock
