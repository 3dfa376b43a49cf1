"""Load one source folder: decide per file (reject, unchanged, load), parse with ``ingest``, store with ``warehouse``."""

from __future__ import annotations

import ctypes
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import duckdb

from basics import progress, timing
from ingest.config import IngestConfig
from ingest.landing import (
    NAME_REASONS,
    LandingFile,
    candidates,
    content_hash,
    escaped,
    not_data,
    scan,
    still_changing,
)
from ingest.loader import open_file
from ingest.normalise import output_columns
from ingest.readers import BadFile, stop_worker, xlsx_limit_notes
from ingest.reasons import Reden, reden
from ingest.values import key_fingerprint
from warehouse import schema, store

log = logging.getLogger("fairshare.ingest")


@dataclass
class FileOutcome:
    """What happened to one file in this run."""

    bron: str
    pad: str
    # geladen | afgewezen | ongewijzigd | overgeslagen (incomplete: next run) | genegeerd (a link)
    # | geen_data (not a spreadsheet or csv: warned once per content, never a delivery)
    status: str
    reden: str | None = None
    rijen_gelezen: int = 0
    rijen_geladen: int = 0
    rijen_quarantaine: int = 0
    quarantaine_voorbeelden: tuple[str, ...] = ()
    eerder_afgewezen: bool = False

    @property
    def afgewezen(self) -> bool:
        """Rejected now, or unchanged since it was rejected."""
        return self.status == "afgewezen" or self.eerder_afgewezen

    @property
    def soort(self) -> str:
        """The file's line in the run summary (``KINDS``): a file unchanged since its rejection is a kind of its own,
        neither a new rejection nor an unchanged delivery."""
        return (
            "ongewijzigd_afgewezen" if self.status == "ongewijzigd" and self.eerder_afgewezen else self.status
        )


# The kinds of ``FileOutcome.soort``, in the order the stage lines and the run summary count them.
KINDS = tuple(progress.FILE_WORDS)


def prepare(conn: duckdb.DuckDBPyConnection, config: IngestConfig, key: bytes) -> None:
    """Create the schema and check the pseudonym key against the warehouse's (raises ``KeyMismatch``)."""
    schema.ensure_schema(
        conn, {s.table: (output_columns(s), list(s.natural_key)) for s in config.sources.values()}
    )
    store.check_key(conn, key_fingerprint(key))


def _audit(file: LandingFile, config: IngestConfig, inhoud_hash: str | None, status: str, **extra) -> dict:
    return {
        "bron": file.bron,
        "pad": file.pad,
        "inhoud_hash": inhoud_hash,
        "config_hash": config.config_hash,
        "leverdatum": file.leverdatum,
        "commissie": file.commissie,
        "status": status,
        **extra,
    }


def seen_before(conn: duckdb.DuckDBPyConnection, file: LandingFile, config: IngestConfig) -> bool:
    """Whether loading ``file`` now would change no data: the same content and configuration were loaded or
    rejected at this path, or (a copy under another name) loaded at another path of the same source
    (the decisions of ``load_file``, made without reading the file; for the schedule's nothing-new test)."""
    try:
        digest = content_hash(file.path)
    except OSError:
        digest = None
    state = store.file_state(conn, file.pad)
    if state and (state.inhoud_hash, state.config_hash) == (digest, config.config_hash):
        return not _name_now_right(file, state)
    return (
        not file.name_error
        and digest is not None
        and store.loaded_copy(conn, file.bron, file.commissie, digest, config.config_hash) is not None
    )


class FileChanged(Exception):
    """The file changed while it was read: its load is rolled back and it waits for the next run."""


def load_file(
    conn: duckdb.DuckDBPyConnection, file: LandingFile, config: IngestConfig, key: bytes
) -> FileOutcome:
    """Load one file (or record why not); never raises for bad input.

    The content is hashed before reading and again before the load commits: a file that changed
    in between (still being copied) is rolled back and left for the next run, never loaded half.
    """
    if file.name_error:  # the name is checked before anything else (sources.md §1)
        return _reject_by_name(conn, file, config)
    try:
        with timing.stage("scan"):
            digest = content_hash(file.path)
    except OSError as exc:  # listed a moment ago: gone, a folder now, or not ours to read
        if not _regular(file):
            return _skip(file, GONE)
        return _reject(conn, file, config, None, reden("file_unreadable", error=type(exc).__name__))
    state = store.file_state(conn, file.pad)
    if (
        state
        and state.inhoud_hash == digest
        and state.config_hash == config.config_hash
        and not _name_now_right(file, state)
    ):
        return _unchanged_sighting(conn, file, config, digest, state)
    copy = store.loaded_copy(conn, file.bron, file.commissie, digest, config.config_hash)
    if copy and copy != file.pad:
        same = reden("same_content", pad=copy)
        store.record_sighting(
            conn,
            _audit(
                file, config, digest, "ongewijzigd", reden=same.render("en"), **store.reason_columns(same)
            ),
        )
        return FileOutcome(file.bron, file.pad, "ongewijzigd", reden=same.render("en"))
    holder = store.delivery_holder(conn, file.bron, file.commissie, file.leverdatum, file.pad)
    if holder:
        what = f"{file.bron} {file.commissie + ' ' if file.commissie else ''}{file.leverdatum.isoformat()}"
        return _reject(
            conn,
            file,
            config,
            digest,
            reden("second_delivery", delivery=what, holder=holder),
        )
    try:
        opened = open_file(file, config, key)
        audit = _audit(
            file,
            config,
            digest,
            "geladen",
            kolommen_genegeerd=opened.kolommen_genegeerd,
            kolommen_verwijderd=opened.kolommen_verwijderd,
            blad=opened.blad,
        )
        source = config.sources[file.bron]
        id_col = source.natural_key[-1]
        _, loaded = store.store_file(
            conn,
            source.table,
            audit,
            opened,
            key,
            list(source.natural_key),
            opened.match.seen.get(id_col, id_col),
            verify=lambda: _unchanged(file, digest),
        )
    except BadFile as exc:
        try:  # it went or changed while it was read: that is no fault of its content
            _unchanged(file, digest)
        except FileChanged as changed:
            return _skip(file, GONE if not _regular(file) else str(changed))
        except OSError:
            return _skip(file, GONE)
        return _reject(conn, file, config, digest, exc.reden)
    except FileChanged as exc:
        return _skip(file, str(exc))
    quarantine = opened.quarantine
    for q in quarantine[:20]:
        log.info(
            "%s, %srow %s: %s",
            file.shown,
            f"sheet {opened.blad}, " if opened.blad else "",
            q["rijnummer"],
            q["reden"],
        )
    if opened.kolommen_verwijderd:
        log.info(
            "%s: direct identifiers dropped on read: %s", file.shown, ", ".join(opened.kolommen_verwijderd)
        )
    examples = tuple(f"row {q['rijnummer']}: {q['reden']}" for q in quarantine[:5])
    return FileOutcome(
        file.bron,
        file.pad,
        "geladen",
        rijen_gelezen=opened.rijen_gelezen,
        rijen_geladen=loaded,
        rijen_quarantaine=len(quarantine),
        quarantaine_voorbeelden=examples,
    )


GONE = (
    "no longer there as a file (removed, or replaced by a folder, while the run read the folder): "
    "left for the next run"
)


def _regular(file: LandingFile) -> bool:
    return file.path.is_file() and not file.path.is_symlink()


def _unchanged(file: LandingFile, digest: str) -> None:
    with timing.stage("scan"):
        if not file.path.is_file() or content_hash(file.path) != digest:
            raise FileChanged(
                "changed while it was read (still being copied?): not loaded, left for the next run"
            )


def _skip(file: LandingFile, reason: str) -> FileOutcome:
    message = f"{file.shown}: {reason}"
    log.warning("skipped %s", message)
    return FileOutcome(file.bron, file.pad, "overgeslagen", reden=message)


def _name_now_right(file: LandingFile, state: store.FileState) -> bool:
    """The file was rejected by its name, and its name is right now (e.g. a date that lay after the day of that
    run): the same content is then read, not seen as unchanged."""
    return file.name_error is None and state.status == "afgewezen" and state.reden_code in NAME_REASONS


def _reject_by_name(conn, file: LandingFile, config: IngestConfig) -> FileOutcome:
    """A wrong name is rejected; the same bytes rejected for the same reason before are "unchanged (rejected)".

    The name is checked before anything else (sources.md §1), but the content is hashed too: a stray file that
    stays in the folder is then one sighting per run, not a new rejection per run (nor a new build).
    """
    try:
        with timing.stage("scan"):
            digest = content_hash(file.path)
    except OSError:  # unreadable, or gone: the name alone rejects it, as before
        digest = None
    state = store.file_state(conn, file.pad)
    message = f"{file.shown}: {file.name_error.render('en')}"
    if (
        digest is not None
        and state is not None
        and state.status == "afgewezen"
        and (state.inhoud_hash, state.config_hash, state.reden) == (digest, config.config_hash, message)
    ):
        return _unchanged_sighting(conn, file, config, digest, state)
    return _reject(conn, file, config, digest, file.name_error)


def _unchanged_sighting(
    conn, file: LandingFile, config: IngestConfig, digest: str, state: store.FileState
) -> FileOutcome:
    """Record that a file was seen again as it was (loaded or rejected): no data changes."""
    store.record_sighting(
        conn,
        _audit(
            file,
            config,
            digest,
            "ongewijzigd",
            reden=state.reden,
            reden_code=state.reden_code,
            reden_parameters=state.reden_parameters,
        ),
    )
    return FileOutcome(
        file.bron,
        file.pad,
        "ongewijzigd",
        reden=state.reden,
        eerder_afgewezen=state.status == "afgewezen",
    )


def _reject(conn, file: LandingFile, config: IngestConfig, digest: str | None, reason: Reden) -> FileOutcome:
    """Record a rejection: ``reden`` in English with the file's path in front, beside the reason's code."""
    message = f"{file.shown}: {reason.render('en')}"
    log.warning("rejected %s", message)
    store.record_sighting(
        conn, _audit(file, config, digest, "afgewezen", reden=message, **store.reason_columns(reason))
    )
    return FileOutcome(file.bron, file.pad, "afgewezen", reden=message)


def load_source(
    warehouse: Path, landing: Path, bron: str, config: IngestConfig, key: bytes, settle: float = 0.0
) -> list[FileOutcome]:
    """Load every new or changed file of one source folder, one short connection for the lot.

    Files still being written (``settle`` seconds, ``ingest.landing.still_changing``) are skipped
    this run; symbolic links are ignored. Both are reported, neither is recorded as a delivery.
    """
    folder = config.sources[bron].folder
    with timing.stage("scan"):
        _, ignored = candidates(landing, folder, config.sources[bron].pattern)
        files = scan(landing, config, bron)
        changing = still_changing([f.path for f in files if not f.name_error], settle)
    for _, message in ignored:  # logged here once per run (scan and the sensor list the folder too)
        log.warning(message)
    outcomes = [FileOutcome(bron, pad, "genegeerd", reden=message) for pad, message in ignored]
    shown = progress.report()
    if any(f.path.suffix.lower() == ".xlsx" for f in files):
        for note in xlsx_limit_notes():  # a limit set higher than this process may use: said, then clamped
            log.warning(note)
            if shown:
                shown.line(f"  note: {note}")
    with (
        store.connect(warehouse) as conn,
        shown.files(f"reading {bron}", len(files)) if shown else nullcontext(),
    ):
        prepare(conn, config, key)
        outcomes += _not_data(conn, landing, bron, folder)
        try:
            for f in files:
                if f.path in changing:
                    outcomes.append(_skip(f, changing[f.path]))
                else:
                    outcomes.append(load_file(conn, f, config, key))
                    _release_memory()
                if shown:
                    shown.advance(files=1, rows=outcomes[-1].rijen_gelezen)
        finally:
            stop_worker()
        return outcomes


def _not_data(conn: duckdb.DuckDBPyConnection, landing: Path, bron: str, folder: str) -> list[FileOutcome]:
    """Files of the folder that are no data (``ingest.landing.is_data_file``): one warning per file and content.

    Such a file (a LEESMIJ.txt, a PDF) is no delivery: it is never rejected, read or part of a build, and a run
    says so the first time it sees it (again only when its content changes)."""
    outcomes = []
    for path in not_data(landing, folder):
        pad = path.relative_to(landing).as_posix()
        try:
            with timing.stage("scan"):
                digest = content_hash(path)
        except OSError:
            digest = None
        if store.non_data_seen(conn, pad, digest):
            continue
        store.record_non_data(conn, bron, pad, digest)
        message = (
            f"{escaped(pad)}: only .xlsx and .csv files are read, so this one is ignored "
            "(said once, while it stays as it is)"
        )
        log.warning(message)
        outcomes.append(FileOutcome(bron, pad, "geen_data", reden=message))
    return outcomes


def _release_memory() -> None:
    """Hand freed chunk memory back to the OS (glibc keeps it otherwise), so dbt's process finds it free."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do
