"""Opening a DuckDB file the pipeline did not write itself: read it as data, never run its code.

A DuckDB file may hold views and macros, and their SQL runs with the reader's rights: a view over
``read_text('/…')`` or ``glob('/…')`` reads any file the reading process can. So such a file is opened with
external access off and the configuration locked *before* it is attached (no view can read a file, no SQL
can switch it back on, no extension is installed or loaded); the only files the connection may open are
the ones named, each with its write-ahead logs. DuckDB counts attaching a file as external access too:
the allowed paths are therefore set first, then external access is turned off and locked, then the files
are attached. Callers read base tables only and refuse a file whose tables they need are views or macros.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

# Applied in this order: allowed_paths can only be set while external access is on, and nothing after the lock.
_OFF = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


# A database file and what DuckDB writes beside it: its write-ahead log, and the log a checkpoint starts.
_BESIDE = ("", ".wal", ".wal.checkpoint")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(allowed: Iterable[Path] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that may open only the database files ``allowed`` (and their logs), locked so."""
    paths = [f"{Path(path).resolve()}{suffix}" for path in allowed for suffix in _BESIDE]
    conn = duckdb.connect()
    try:
        if paths:
            conn.execute(f"SET allowed_paths = [{', '.join(map(_literal, paths))}]")
        for statement in _OFF:
            conn.execute(statement)
    except BaseException:
        conn.close()
        raise
    return conn


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """One DuckDB file, read-only, with external access off and locked before its first query."""
    conn = duckdb.connect(
        str(path),
        read_only=True,
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    try:
        conn.execute("SET lock_configuration = true")
    except BaseException:
        conn.close()
        raise
    return conn


def ident(name: str) -> str:
    """A quoted SQL identifier: names read from a file never become SQL."""
    return '"' + name.replace('"', '""') + '"'
