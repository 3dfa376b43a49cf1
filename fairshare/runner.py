"""Run the Dagster asset graph in-process for `fairshare run`, and summarise what it did."""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from basics import extras, packcheck, progress, region
from basics.dutch import datum_nl
from basics.files import clean_stale
from basics.progress import RunLog
from basics.settings import ConfigError, Settings, is_meeting_date
from fairshare.console import Console
from ingest.config import source_folders
from ingest.values import key_fingerprint
from products.report import compensatie, report_stem
from warehouse import audit, data_only, lock, publish, store


@dataclass
class RunOutcome:
    success: bool
    blocked: bool
    summary: str
    error: str | None = None


def _writable(folder: Path, what: str) -> None:
    """The folder exists (or can be made) and a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".fairshare-schrijftest-{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"the {what} {folder} is not writable ({exc.strerror or exc}): "
            "choose another folder or fix its permissions"
        ) from exc


def _landing_ready(landing: Path) -> None:
    folders = [f + "/" for f in source_folders().values()]
    if not landing.is_dir():
        what = "is not a folder" if landing.exists() else "does not exist"
        raise ConfigError(
            f"the landing folder {landing} {what}: point --landing (FAIRSHARE_LANDING) at the folder "
            f"with the subfolders {', '.join(folders)}"
        )
    missing = [f for f in folders if not (landing / f).is_dir()]
    if missing:
        raise ConfigError(
            f"the landing folder {landing} has no subfolder {', '.join(missing)} "
            f"(expected {', '.join(folders)}; an empty subfolder is fine)"
        )


def _warehouse_free(warehouse: Path) -> None:
    """No other program (an analyst's DuckDB, Metabase) has the warehouse file open: DuckDB allows one writer."""
    if not warehouse.exists():
        return
    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.Error as exc:
        who = lock.file_holder(exc)
        if who is None:
            raise ConfigError(
                f"the warehouse {warehouse} cannot be opened: {str(exc).splitlines()[0]}"
            ) from exc
        raise ConfigError(
            f"the warehouse {warehouse} is open in {who}: close it (readers use the published copy, "
            "never the warehouse file)"
        ) from exc


def check_configuration(settings: Settings) -> None:
    """What the settings and the region pack say, checked before the lock is taken and anything is read or written:
    the warehouse, the published copy and the reports never share a file, a board run's copy path is a regular
    file or nothing, a board run that publishes to PostgreSQL has psycopg (the ``postgres`` extra), and the
    pack has every seed file dbt needs, each with every column (ConfigError, exit 2, naming the path)."""
    settings.check_separate()
    if settings.publishes:
        _serving_is_a_file(settings.serving_file)
        extras.require_postgres(settings.publish_postgres_dsn)
    try:
        packcheck.check(settings.regio)  # region.check_pack and every rule of `fairshare regio controleer`
        compensatie.check(region.regio_dir(settings.regio))  # the pack's optional compensation rule
    except (region.BadPack, compensatie.BadRule) as exc:
        raise ConfigError(str(exc)) from exc


def _serving_is_a_file(serving: Path) -> None:
    """The published copy is replaced by a regular file: whatever is at its path must be one (or nothing)."""
    if serving.is_symlink():
        raise ConfigError(
            f"the published copy {serving} is a symbolic link (to {os.readlink(serving)}): publishing "
            "would replace the link, not its target; point --serving (FAIRSHARE_SERVING) at the file itself"
        )
    if serving.exists() and not serving.is_file():
        kind = "a folder" if serving.is_dir() else "not a regular file"
        raise ConfigError(
            f"the published copy {serving} is {kind}: the copy is one DuckDB file, so point --serving "
            "(FAIRSHARE_SERVING) at a file name, or move what is there out of the way"
        )


def check_ready(settings: Settings) -> None:
    """Everything a run needs, checked before anything is read (each failure is one sentence, exit 2).

    Warehouse, published copy and reports that never share a file, the region pack's seed files, the landing
    folder and its subfolders, a published copy that is a regular file (or not there yet), writable report,
    serving and warehouse folders, a published copy that belongs to this warehouse, the warehouse file free of
    other programs, the PostgreSQL user's privileges (with a DSN), the pseudonym key, and a Dagster instance folder
    that can be written (made last: nothing else is written when a check fails). The caller holds the warehouse
    lock.
    """
    key = settings.key_bytes()
    check_configuration(settings)
    _landing_ready(settings.landing)
    _writable(settings.warehouse.parent, "warehouse folder")
    _writable(settings.reports, "reports folder")
    if settings.publishes:
        _writable(settings.serving_file.parent, "serving folder")
        other = publish.owner(settings.serving_file)
        if other and other != str(settings.warehouse.resolve()):
            raise ConfigError(
                f"the published copy {settings.serving_file} belongs to the warehouse {other}: "
                "give this warehouse its own with --serving FILE (FAIRSHARE_SERVING)"
            )
    _warehouse_free(settings.warehouse)
    if settings.publishes and settings.publish_postgres_dsn:  # the user's privileges, named if one is missing
        try:
            publish.check_postgres(settings.publish_postgres_dsn, settings.postgres_reader_password)
        except publish.PostgresNotReady as exc:
            raise ConfigError(str(exc)) from exc
    stored = store.stored_fingerprint(settings.warehouse)
    if stored is not None and stored != key_fingerprint(key):
        raise ConfigError(
            f"the pseudonym key differs from the one {settings.warehouse} was built with "
            "(pseudonyms would no longer link): use the original FAIRSHARE_PSEUDONYM_KEY or a new warehouse file"
        )
    built_for = _warehouse_region(settings.warehouse)
    if built_for is not None and built_for != settings.regio:
        raise ConfigError(
            f"the warehouse {settings.warehouse} holds region '{built_for}', not '{settings.regio}': "
            "every region has its own warehouse (--warehouse FILE, FAIRSHARE_WAREHOUSE)"
        )
    _instance_ready()


def _instance_ready() -> None:
    """The Dagster instance the run is recorded in (DAGSTER_HOME, else data/dagster_home) can be made and written."""
    from orchestration.run import instance_home

    try:
        instance_home()
    except OSError as exc:
        raise ConfigError(
            f"the Dagster instance folder {exc.filename or os.environ.get('DAGSTER_HOME')} cannot be written "
            f"({exc.strerror or exc}): point DAGSTER_HOME at a writable folder"
        ) from exc


def _warehouse_region(warehouse: Path) -> str | None:
    """The region a warehouse was built for (seed `regio`), if it has been built."""
    if not warehouse.exists():
        return None
    with data_only.connect_read_only(warehouse) as conn:  # not yet known to be ours: read as data only
        found = conn.execute(
            "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'referentie' AND table_name = 'regio'"
        ).fetchone()
        return conn.execute("SELECT regio_code FROM referentie.regio").fetchone()[0] if found else None


def clean_leftovers(settings: Settings) -> None:
    """Temporary files of a killed run (report and publication); the caller holds the warehouse lock."""
    clean_stale(settings.reports)
    for stale in settings.serving_file.parent.glob(f".{settings.serving_file.name}.*.tmp*"):
        stale.unlink(missing_ok=True)


def run_pipeline(
    settings: Settings,
    instance=None,
    verbose: bool = False,
    shown: Console | None = None,
    started: float | None = None,
    opnieuw: bool = False,
) -> RunOutcome:
    """Run the job in this process (``orchestration.run.execute``) and summarise what it did.

    ``started``: a ``time.perf_counter()`` from before the run's imports (the CLI's start), so "Run finished in"
    counts the seconds a user waited, not only the job's. ``opnieuw``: rebuild and republish even when nothing
    is new (``fairshare run --opnieuw``)."""
    from orchestration.run import execute

    done = execute(settings, instance=instance, verbose=verbose, shown=shown, opnieuw=opnieuw)
    seconds = done.seconds if started is None else time.perf_counter() - started
    summary = summarise(settings, seconds, done.run_id, done.log)
    return RunOutcome(success=done.success, blocked=done.blocked, summary=summary, error=done.error)


def summarise(
    settings: Settings, seconds: float, run_id: str | None = None, log: RunLog | None = None
) -> str:
    """The closing summary: peildatum, this run's files, the gate's verdict, and where report and copy are."""
    if not settings.warehouse.exists():
        return f"No warehouse written ({settings.warehouse})."
    lines = ["Summary"]
    with store.connect(settings.warehouse, read_only=True) as conn:
        peildatum = audit.peildatum(conn)
        if peildatum:
            lines.append(
                f"  peildatum {datum_nl(peildatum[0])} (data up to {datum_nl(peildatum[1])})"
                + ("" if is_meeting_date(peildatum[0]) else ", an ad-hoc report")
            )
        if log is not None:
            lines += _files_this_run(log)
            lines += [f"  {problem}" for problem in log.problems]
        gate_rows = audit.gate_outcomes(conn, run_id) if run_id else []
        failed = [(suite, fouten) for suite, geslaagd, fouten in gate_rows if not geslaagd]
        if failed:
            lines.append(f"  gate: BLOCKED - {sum(len(f) for _, f in failed)} rule(s) failed:")
            lines += [f"    - {suite}: {f['uitleg']}" for suite, fs in failed for f in fs]
        elif gate_rows:
            lines.append(f"  gate: passed ({len(gate_rows)} suites)")
        elif log is not None and log.nothing_new:
            lines.append("  gate: not run again (it passed for the last complete build)")
    if peildatum:
        stem = report_stem(peildatum[0])
        blocked = settings.reports / f"{stem}_geblokkeerd.html"
        html = settings.reports / f"{stem}.html"
        if blocked.exists():
            lines.append(f"BLOCKED, see {blocked.resolve()}")
        elif html.exists():
            beside = [
                f"{stem}.{kind}" for kind in ("pdf", "xlsx") if (settings.reports / f"{stem}.{kind}").exists()
            ]
            lines.append(f"Report: {html.resolve()}" + (f" (and {' and '.join(beside)})" if beside else ""))
    lines += _published(settings, log)
    lines.append(f"Warehouse: {settings.warehouse.resolve()} (the pipeline's own file: readers use the copy)")
    lines.append(f"Run finished in {seconds:.1f}s.")
    return "\n".join(lines)


def _files_this_run(log: RunLog) -> list[str]:
    """The summary's lines on this run's files: how many of each kind, and whether anything was new.

    New, unchanged and rejected are always counted; the other kinds when they occurred. Each file of a kind
    other than new or unchanged has its own line below (``RunLog.problems``), so every count equals its list.
    """
    always = ("geladen", "ongewijzigd", "afgewezen")
    counts = ", ".join(
        f"{log.files.get(k, 0)} {word}"
        for k, word in progress.FILE_WORDS.items()
        if log.files.get(k, 0) or k in always
    )
    lines = [f"  files this run: {counts}"]
    if log.nothing_new:
        lines.append(
            "  nothing new since the last complete build: marts, report and published copy are current"
        )
    return lines


def _published(settings: Settings, log: RunLog | None = None) -> list[str]:
    """The summary's lines on the publication: what this run published to each target (or why not: kept a
    newer peildatum, failed), or that every target was current already; where the copy is and how to open it."""
    if not settings.publishes:
        return []
    held = publish.holds(settings.serving_file)
    served = settings.serving_file.resolve()
    if log is not None and log.publicatie:
        lines = list(log.publicatie)
    elif log is not None and log.nothing_new and held is not None:
        targets = ["read-only copy"] + (
            [f"PostgreSQL {publish.where(settings.publish_postgres_dsn)}"]
            if settings.publish_postgres_dsn
            else []
        )
        lines = [
            f"Nothing to publish: every target is current ({', '.join(targets)}); the copy holds "
            f"{publish.described(held)}",
            f"Read-only copy for readers: {served}",
        ]
    elif held is not None:  # the run stopped before its publication (a blocked gate, a failure)
        lines = [
            f"Read-only copy for readers (not published by this run): {served}",
            f"  it holds {publish.described(held)}",
        ]
    else:  # only a regular file that says what it holds (never a folder or a link at its path)
        return []
    if held is not None:  # under the copy's lines, before PostgreSQL's
        at = next(
            (i for i, line in enumerate(lines) if i and not line.startswith(" ") and "PostgreSQL" in line),
            len(lines),
        )
        lines.insert(
            at,
            f"  connect: duckdb -readonly {shlex.quote(str(served))}   or in Python: "
            f"duckdb.connect({str(served)!r}, read_only=True)",
        )
    return lines
