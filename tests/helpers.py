"""Test helpers: write real xlsx/csv files and load a landing folder into a real DuckDB file."""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from openpyxl import Workbook, load_workbook

from ingest.config import load_config
from tests import zygote
from warehouse import publish
from warehouse.loading import FileOutcome, load_source

KEY = b"test-key-not-secret"

TOEWIJZINGEN_HEADER = [
    "Toewijzingsnummer",
    "Corporatie",
    "Gemeente",
    "Toewijzingsdatum",
    "Netto huur",
    "Aantal kamers",
]


def toewijzing_row(i: int, **over) -> list:
    row = {
        "id": f"T{i:04d}",
        "corp": "Portaal",
        "gemeente": "Amersfoort",
        "datum": dt.datetime(2025, 3, 1),
        "huur": 600.0,
        "kamers": 2,
    }
    row.update(over)
    return list(row.values())


def write_xlsx(
    path: Path,
    header: list,
    rows: list[list],
    title_rows: int = 0,
    total_row: bool = False,
    hidden_first: list[list] | None = None,
    sheet: str = "Blad1",
) -> Path:
    """An xlsx written by openpyxl, as a supplier's Excel would: title rows, a Totaal row, hidden sheets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    if hidden_first is not None:
        ws.title = "Verborgen"
        ws.sheet_state = "hidden"
        for r in hidden_first:
            ws.append(r)
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    for k in range(title_rows):
        ws.append([f"Titelregel {k + 1}"] if k == 0 else [])
    ws.append(header)
    for r in rows:
        ws.append(r)
    if total_row:
        ws.append(["Totaal", len(rows)])
    wb.save(path)
    return path


def write_csv(
    path: Path, header: list, rows: list[list], delimiter: str = ";", encoding: str = "utf-8"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def load_all(landing: Path, warehouse: Path, key: bytes = KEY, config=None) -> list[FileOutcome]:
    """Load every source folder, as the three ingest assets do."""
    config = config or load_config()
    outcomes = []
    for bron in ("swev", "urgentie", "planregister"):
        outcomes += load_source(warehouse, landing, bron, config, key)
    return outcomes


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def quarantine(warehouse: Path) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("SELECT * FROM audit.quarantaine ORDER BY pad, rijnummer").df().to_dict("records")


@contextmanager
def lock_held_elsewhere(warehouse: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the warehouse lock (``warehouse.lock``) for the block, then killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from warehouse import lock; cm = lock.hold(Path(sys.argv[1])); cm.__enter__(); "
            "print('held', flush=True); time.sleep(600)",
            str(warehouse),
        ],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def foreign_warehouse(folder: Path, *statements: str) -> tuple[Path, Path]:
    """A DuckDB file the pipeline did not write, made by ``statements`` (``{secret}`` in them names a file of
    personal data beside it, which a view of the file may read). Returns (the file, the secret)."""
    secret = folder / "register.txt"
    secret.write_text("Jansen;123456782;01-02-1980\n")
    foreign = folder / "vreemd.duckdb"
    with duckdb.connect(str(foreign)) as conn:
        for statement in statements:
            conn.execute(statement.replace("{secret}", str(secret)))
    return foreign, secret


_COUNTED: dict[tuple[str, str], int] = {}


def data_lines(path: Path) -> int:
    """``count_data_lines``, once per file content in a worker (the sample's files are counted by several tests;
    its four large xlsx take seconds each with openpyxl)."""
    key = (hashlib.sha256(path.read_bytes()).hexdigest(), path.suffix.lower())
    if key not in _COUNTED:
        _COUNTED[key] = count_data_lines(path)
    return _COUNTED[key]


def count_data_lines(path: Path) -> int:
    """The data lines of a landing file as its user sees them, found without the pipeline's reader.

    The non-empty lines (rows of the sheet) below the header, summary lines included. A csv is parsed
    strictly; one whose quotes do not pair (the csv module cannot tell its records) counts its
    physical lines, as an editor shows them. An xlsx: the first visible sheet with a row of three or
    more filled cells (the header; title rows hold one), counted with openpyxl.
    """

    def filled(cells) -> bool:
        return any(c is not None and str(c).strip(" \t\r\n\xa0") for c in cells)

    if path.suffix.lower() == ".xlsx":
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                if sheet.sheet_state != "visible":
                    continue
                rows = [row for row in sheet.iter_rows(values_only=True)]
                header = next(
                    (
                        i
                        for i, row in enumerate(rows[:50])
                        if sum(c is not None and str(c).strip() != "" for c in row) >= 3
                    ),
                    None,
                )
                if header is not None:
                    return sum(filled(row) for row in rows[header + 1 :])
            return 0
        finally:
            workbook.close()
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", "replace")
    first = next((line for line in text.splitlines() if line.strip().strip(",;")), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        records = [line.split(delimiter) for line in text.splitlines()]
    records = [r for r in records if filled(r)]
    return max(len(records) - 1, 0)


def assert_every_line_accounted_for(
    warehouse: Path, landing: Path, path: Path, lines: int | None = None
) -> str:
    """sources.md §6: a loaded file's data lines = loaded + quarantined + summary lines skipped; else rejected.

    Checks ``audit.bestanden`` (its current row for the file) against the file's data lines
    (``data_lines``, or ``lines`` when the test knows them, which must then agree) and against what
    the warehouse holds of it: its sightings and its quarantine rows. Returns the file's status.
    """
    pad = path.relative_to(landing).as_posix()
    if lines is not None:
        assert data_lines(path) == lines, (
            f"{pad}: the test wrote {lines} data lines, the file holds {data_lines(path)}"
        )
    with duckdb.connect(str(warehouse), read_only=True) as conn:  # one connection per file, not three
        [(bestand_id, bron, status, gelezen, geladen, quarantaine, totaal)] = conn.execute(
            "SELECT bestand_id, bron, status, rijen_gelezen, rijen_geladen, rijen_quarantaine, "
            "totaalrijen_overgeslagen FROM audit.bestanden_actueel WHERE pad = ?",
            [pad],
        ).fetchall()
        table = load_config().sources[bron].table
        [(sightings,)] = conn.execute(
            f"SELECT count(*) FROM {table}__waarnemingen WHERE _bestand_id = ?", [bestand_id]
        ).fetchall()
        [(quarantined,)] = conn.execute(
            "SELECT count(*) FROM audit.quarantaine WHERE pad = ?", [pad]
        ).fetchall()
    if status == "afgewezen":
        assert (sightings, quarantined) == (0, 0), (
            f"{pad}: rejected, yet {sightings} rows and {quarantined} quarantine rows of it are kept"
        )
        return status
    assert status == "geladen", f"{pad}: {status}"
    counted = data_lines(path)  # (a rejected file need not be readable by openpyxl or the csv module)
    assert gelezen + totaal == counted, (
        f"{pad}: {counted} data lines, but {gelezen} rows read and {totaal} summary lines skipped"
    )
    assert geladen + quarantaine == gelezen, (
        f"{pad}: {gelezen} read = {geladen} loaded + {quarantaine} quarantined?"
    )
    assert (sightings, quarantined) == (geladen, quarantaine), (
        f"{pad}: the warehouse holds {sightings} rows and {quarantined} quarantine rows of it"
    )
    return status


def sample_built(sample_run, base: Path) -> Path:
    """The sample run's landing folder, warehouse, reports and published copy, copied to ``base`` (as an
    installation moved to another disk: the copy's owner note names the warehouse at its new place).

    For a test that starts from a complete build of the sample: the same files the run wrote, without running
    it again. Returns the warehouse file."""
    _, landing, reference, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.copytree(landing, base / "landing")
    for name in ("warehouse", "reports", "serving"):
        shutil.copytree(reference.parent.parent / name, base / name)
    warehouse = base / "warehouse" / "fairshare.duckdb"
    publish.owner_file(base / "serving" / "fairshare.duckdb").write_text(f"{warehouse.resolve()}\n")
    return warehouse


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_cluster(
    prefix: str = "fairshare-pg-", hba: str | None = None, options: str = ""
) -> Iterator[tuple[str, int, Path]]:
    """A private PostgreSQL cluster on a free loopback port: (admin DSN, port, server log), removed afterwards.

    Its folder sits directly under the temp dir: pytest's own folders are private to the test user, and the
    server runs as `postgres` when the tests run as root. ``hba`` replaces pg_hba.conf; ``options`` are extra
    server options (``-c name=value``).
    """
    bindir = Path(
        subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    )
    if not (bindir / "initdb").exists():
        bindir = next(Path("/usr/lib/postgresql").glob("*/bin"))
    base = Path(tempfile.mkdtemp(prefix=prefix))
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(data, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    if hba is not None:
        (data / "pg_hba.conf").write_text(hba)
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(data / "log"),
                "-o",
                f"-p {port} -k {data} -c listen_addresses=127.0.0.1 {options}".strip(),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", port, data / "log"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def regions_lock(exclusive: bool) -> Iterator[None]:
    """regions/ across test workers and sessions: held exclusively while a test adds a pack there, shared
    by the modules that list or digest every pack (tests/conftest.py says why)."""
    from basics.region import REGIONS_DIR

    digest = hashlib.sha1(str(REGIONS_DIR.resolve()).encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"fairshare-regions-{digest}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def clean_env() -> dict[str, str]:
    """The test process's environment as a user's shell has it: its FAIRSHARE_* settings left out, but for
    FAIRSHARE_PDF (conftest: runs leave out the meeting pack's PDF, 3-4 CPU-s each, unless a test reads it;
    only the session's sample run and the two regions' runs make theirs)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FAIRSHARE_") or k == "FAIRSHARE_PDF"}


def fairshare(
    *args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    """`python -m fairshare.cli ARGS` from this worker's zygote, in the repository (or ``cwd``), with the
    FAIRSHARE_* settings of the test process left out and ``env`` added."""
    clean = clean_env()
    return zygote.run(
        [sys.executable, "-m", "fairshare.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or Path(__file__).resolve().parents[1],
        env={**clean, **(env or {})},
        timeout=timeout,
    )


def run_command(landing: Path, warehouse: Path, reports: Path, demo: bool = True) -> list[str]:
    """The command line of `fairshare run` over these folders, as a child process from the repository runs it."""
    return [
        sys.executable,
        "-m",
        "fairshare.cli",
        "run",
        *(["--demo"] if demo else []),
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--reports",
        str(reports),
    ]


def demo_run(landing: Path, warehouse: Path, reports: Path) -> subprocess.CompletedProcess:
    """`fairshare run --demo` in a child process from the repository, as a new user runs it."""
    return zygote.run(
        run_command(landing, warehouse, reports),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=900,
    )
