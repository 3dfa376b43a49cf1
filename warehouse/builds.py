"""Skip the rebuild when nothing changed: a fingerprint of everything the marts, report and publication derive from.

The fingerprint covers the loaded and rejected files (path, content hash, ingest configuration),
the run's peildatum, the dbt manifest and the code that writes the gate, report and publication.
It is taken once per run, just before dbt reads the warehouse (``start``, which also gives the build
its number from a sequence), and that same value is written into the published copy and recorded
by the publication asset after a complete run (gate passed, report written, copy published): a
file committed after dbt read the warehouse is therefore new for the next run, never counted as
built. A later run with the same fingerprint as the last build (by number: a clock set wrong
never reorders builds), its report files on disk and a published copy that holds that build, has
nothing to do after ingest.

``pause_point`` lets the fault tests stop a run between two steps (FAIRSHARE_PAUSE_AT, _DIR).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import duckdb

from basics import region
from basics.paths import MANIFEST, ROOT
from basics.settings import Settings
from warehouse import publish

# What turns loaded rows into marts, report and publication (a change in any of these rebuilds).
CODE = [
    *sorted(p for p in (ROOT / "products" / "report").rglob("*.*") if "__pycache__" not in p.parts),
    *sorted((ROOT / "expectations").glob("*.py")),
    ROOT / "expectations" / "config.yaml",  # the gate's thresholds
    ROOT / "basics" / "dutch.py",
    ROOT / "basics" / "manifest.py",  # the mart list and grain the report reads
    ROOT / "ingest" / "reasons.py",  # the Dutch reasons of the report's appendix
    ROOT / "ingest" / "config" / "redenen.yaml",
    ROOT / "warehouse" / "audit.py",  # what the report reads of files and quarantine
    ROOT / "warehouse" / "publish.py",
]


def _manifest_digest() -> bytes:
    """The dbt project as parsed: SQL, configuration and macros (not the parse's timestamps)."""
    if not MANIFEST.exists():
        return b""
    manifest = json.loads(MANIFEST.read_text())
    nodes = {k: (v.get("checksum"), v.get("config"), v.get("raw_code")) for k, v in manifest["nodes"].items()}
    macros = {k: v.get("macro_sql") for k, v in manifest.get("macros", {}).items()}
    return hashlib.sha256(json.dumps([nodes, macros], sort_keys=True, default=str).encode()).digest()


def fingerprint(conn: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """The state the next build would start from."""
    h = hashlib.sha256()
    for row in conn.execute(
        "SELECT pad, status, inhoud_hash, config_hash FROM audit.bestanden_actueel ORDER BY pad"
    ).fetchall():
        h.update(repr(row).encode())
    h.update(repr(settings.peildatum).encode())
    h.update(_manifest_digest())
    # The region's pack: dbt reads its seeds at run time (the manifest holds the default region's).
    pack = region.regio_dir(settings.regio)
    # The region's notes for the report (products/report/duiding.py): an edited note is a new report.
    notes = (
        sorted(settings.duiding.glob("duiding_*")) if settings.duiding and settings.duiding.is_dir() else []
    )
    for path in CODE + sorted(pack.rglob("*.*")) + notes:
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.name.encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def last_build(conn: duckdb.DuckDBPyConnection) -> tuple[str, list[str]] | None:
    """The fingerprint and report files of the last complete build: last by build number, never by the clock."""
    return conn.execute(
        "SELECT vingerafdruk, uitvoer FROM audit.bouw "
        "ORDER BY bouw_nr DESC NULLS LAST, voltooid_op DESC LIMIT 1"
    ).fetchone()


def up_to_date(conn: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[bool, str]:
    """Whether the last complete build had this fingerprint, its report files exist where this run puts them,
    and (for a board run) every target holds that very build: the published copy and, with a DSN, PostgreSQL
    (a DSN set on an existing installation makes the next run publish there)."""
    current = fingerprint(conn, settings)
    row = last_build(conn)
    if not row or row[0] != current or not all((settings.reports / n).exists() for n in row[1]):
        return False, current
    if settings.publishes:  # an ad-hoc build publishes nothing
        targets = [publish.holds(settings.serving_file)]
        if settings.publish_postgres_dsn:
            targets.append(publish.postgres_holds(settings.publish_postgres_dsn))
        if not all(target_current(held, current, settings) for held in targets):
            return False, current
    return True, current


def target_current(held: dict | None, current: str, settings: Settings) -> bool:
    """Whether a target that holds ``held`` (its info.publicatie) needs nothing of a build with fingerprint
    ``current``: it holds that build, or this is a board run (``--peildatum``) for an older peildatum than the
    target's, which keeps its newer publication (unless ``--als-huidig``)."""
    if held is None:
        return False
    return held.get("vingerafdruk") == current or keeps_newer(held, settings.peildatum, settings)


def keeps_newer(held: dict | None, peildatum, settings: Settings) -> bool:
    """Whether a target holding ``held`` keeps it rather than take a build for ``peildatum``: only a board run
    given its peildatum (``--peildatum``; a default run's older peildatum means a clock that is behind, and is
    published with a warning) for an older one than the target holds, without ``--als-huidig``."""
    return bool(
        settings.peildatum is not None
        and not settings.als_huidig
        and held
        and held.get("peildatum")
        and peildatum is not None
        and peildatum < held["peildatum"]
    )


def nothing_new(settings: Settings) -> bool:
    """Whether a run now would change nothing (for the schedule: then it launches no run at all).

    True when every delivery in the landing folder was seen before with this content and configuration
    (``warehouse.loading.seen_before``: also a copy of a loaded file under another name, which a run only
    records as unchanged) and the last complete build was made from exactly that state, its outputs on disk. The warehouse
    lock is taken without waiting, so a reader never blocks a run: a run in progress means False.
    """
    from ingest.config import load_config
    from ingest.landing import scan
    from warehouse import lock, store
    from warehouse.loading import seen_before

    if not settings.warehouse.exists():
        return False
    config = load_config(regio=settings.regio)
    try:
        with lock.hold(settings.warehouse), store.connect(settings.warehouse, read_only=True) as conn:
            for bron in config.sources:
                if not all(seen_before(conn, f, config) for f in scan(settings.landing, config, bron)):
                    return False
            return up_to_date(conn, settings)[0]
    except (lock.WarehouseLocked, duckdb.Error, OSError):
        return False


def start(conn: duckdb.DuckDBPyConnection, run_id: str, current: str) -> None:
    """Fix the inputs of the build this run is about to make (before dbt reads anything), and its build number."""
    conn.execute("DELETE FROM audit.bouw_invoer WHERE run_id = ?", [run_id])
    conn.execute(
        "INSERT INTO audit.bouw_invoer (run_id, vingerafdruk, bouw_nr) "
        "VALUES (?, ?, nextval('audit.bouw_nr_seq'))",
        [run_id, current],
    )


def started(conn: duckdb.DuckDBPyConnection, run_id: str) -> tuple[int, str] | None:
    """The build number and fingerprint this run's build started with (None: dbt did not run in this run)."""
    return conn.execute(
        "SELECT bouw_nr, vingerafdruk FROM audit.bouw_invoer WHERE run_id = ?", [run_id]
    ).fetchone()


def record_complete(conn: duckdb.DuckDBPyConnection, run_id: str, report_files: list[str]) -> bool:
    """Remember that this run's build finished, with the inputs fixed at its start and the report files it wrote.

    Without a recorded start (dbt did not run in this run) nothing is recorded: the next run checks again.
    """
    row = started(conn, run_id)
    if row is None:
        return False
    conn.execute(
        "INSERT INTO audit.bouw (bouw_nr, vingerafdruk, uitvoer) VALUES (?, ?, ?)", [*row, report_files]
    )
    return True


def pause_point(name: str) -> None:
    """For fault tests only: when FAIRSHARE_PAUSE_AT names this point, announce it and wait to be released.

    Writes ``<FAIRSHARE_PAUSE_DIR>/<name>.reached`` and waits (at most ten minutes) for ``<name>.continue``.
    """
    if os.environ.get("FAIRSHARE_PAUSE_AT") != name or not os.environ.get("FAIRSHARE_PAUSE_DIR"):
        return
    folder = Path(os.environ["FAIRSHARE_PAUSE_DIR"])
    (folder / f"{name}.reached").touch()
    deadline = time.monotonic() + 600
    while not (folder / f"{name}.continue").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
