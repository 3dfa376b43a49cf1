"""The optional parts of the install (pyproject.toml's extras): a missing one is named in one sentence.

``make run`` installs the lean set; the PostgreSQL publication needs the ``postgres`` extra (psycopg) and
``fairshare bench`` the ``bench`` extra (psutil, openpyxl). Checked before anything is read or written.
"""

from __future__ import annotations

import importlib.util

from basics.settings import ConfigError


class MissingExtra(ConfigError):
    """An optional package a command needs is not installed (exit status 2)."""


def require(extra: str, modules: tuple[str, ...], purpose: str) -> None:
    """Raise ``MissingExtra`` naming the extra to install when one of ``modules`` cannot be imported."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(
            f"{purpose} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed: "
            f"install the '{extra}' extra (pip install -c requirements.lock -e '.[{extra}]')"
        )


def require_postgres(dsn: str | None) -> None:
    """With a PostgreSQL DSN set, psycopg must be installed (the ``postgres`` extra)."""
    if dsn:
        require("postgres", ("psycopg",), "publishing to PostgreSQL (FAIRSHARE_PUBLISH_POSTGRES_DSN is set)")


def require_bench() -> None:
    """``fairshare bench`` measures memory with psutil and its peer reads xlsx with openpyxl."""
    require("bench", ("psutil", "openpyxl"), "fairshare bench")
