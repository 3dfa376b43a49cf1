"""Safe operation (issue 10): one run at a time, complete files only, hostile files rejected, a build that is
exactly what it read, mistakes stopped before anything is read. Real files, real processes, real warehouses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from basics.files import atomic_path
from basics.region import DEFAULT_REGIO
from basics.settings import DEMO_KEY, ConfigError, Settings
from ingest.config import load_config
from orchestration import keys
from tests import zygote
from tests.helpers import (
    TOEWIJZINGEN_HEADER,
    clean_env,
    load_all,
    lock_held_elsewhere,
    query,
    sample_built,
    toewijzing_row,
    write_csv,
    write_xlsx,
)
from tests.test_faults import marts
from warehouse import builds, lock, publish, store
from warehouse.loading import load_source

ROOT = Path(__file__).resolve().parents[1]
REGISTER_HEADER = ["Registratienummer", "Aanvraagdatum", "Besluit"]


def fairshare(
    *args: str, env: dict | None = None, popen: bool = False, **streams
) -> subprocess.CompletedProcess | subprocess.Popen:
    """`python -m fairshare.cli ARGS` with a clean FAIRSHARE_* environment; a started Popen when ``popen``."""
    clean = clean_env()
    cmd = [sys.executable, "-m", "fairshare.cli", *args]
    if popen:
        return zygote.popen(cmd, cwd=ROOT, env={**clean, **(env or {})}, text=True, **streams)
    return zygote.run(
        cmd, capture_output=True, text=True, cwd=ROOT, env={**clean, **(env or {})}, timeout=900
    )


def run_args(base: Path, landing: Path | None = None, *extra: str) -> list[str]:
    return [
        "run",
        "--demo",
        "--landing",
        str(landing or base / "landing"),
        "--warehouse",
        str(base / "warehouse" / "fairshare.duckdb"),
        "--reports",
        str(base / "reports"),
        *extra,
    ]


def sample_copy(sample_run, base: Path) -> Path:
    """A copy of the sample landing folder (modification times kept, so the files are settled)."""
    _, landing, _, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.copytree(landing, base / "landing")
    return base / "landing"


def sparse_xlsx(path: Path, header: list, rows: list[list], lie: bool = False) -> Path:
    """A 5 KB sheet with one stray cell at XFD1048576; ``lie`` rewrites its declared range to A1:C2."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    for row in [header, *rows]:
        wb.active.append(row)
    wb.active["XFD1048576"] = "x"
    wb.save(path)
    if lie:
        data = {}
        with zipfile.ZipFile(path) as zf:
            data = {i: zf.read(i.filename) for i in zf.infolist()}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for info, content in data.items():
                if info.filename.startswith("xl/worksheets/"):
                    content = content.replace(
                        b'<dimension ref="A1:XFD1048576" />', b'<dimension ref="A1:C2" />'
                    )
                zf.writestr(info, content)
    assert path.stat().st_size < 10_000
    return path


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


# 1. A hostile xlsx --------------------------------------------------------------------------------------------


def test_a_sheet_with_a_stray_far_cell_is_rejected_and_every_other_file_loads(landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1), toewijzing_row(2)],
    )
    sparse_xlsx(landing / "swev" / "toewijzingen_2025-05-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(3)])
    sparse_xlsx(
        landing / "urgentie" / "baarn_2025-04-02.xlsx", REGISTER_HEADER, [["R1", "01-03-2025", ""]], lie=True
    )
    outcomes = {o.pad: o for o in load_all(landing, warehouse)}
    assert outcomes["swev/toewijzingen_2025-04-02.xlsx"].rijen_geladen == 2
    honest = outcomes["swev/toewijzingen_2025-05-02.xlsx"]
    assert honest.status == "afgewezen" and "A1:XFD1048576" in honest.reden and "limit" in honest.reden
    liar = outcomes[
        "urgentie/baarn_2025-04-02.xlsx"
    ]  # its declared range is small: the reader's memory limit stops it
    assert liar.status == "afgewezen" and "GiB" in liar.reden and "stray cell" in liar.reden
    assert query(warehouse, "SELECT pad, status FROM audit.bestanden_actueel ORDER BY pad") == [
        ("swev/toewijzingen_2025-04-02.xlsx", "geladen"),
        ("swev/toewijzingen_2025-05-02.xlsx", "afgewezen"),
        ("urgentie/baarn_2025-04-02.xlsx", "afgewezen"),
    ]


def test_a_cut_off_xlsx_and_a_bomb_are_rejected_with_a_reason(landing, warehouse, monkeypatch):
    whole = write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(i) for i in range(50)],
    )
    cut = landing / "swev" / "toewijzingen_2025-05-02.xlsx"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    monkeypatch.setenv("FAIRSHARE_XLSX_MAX_BYTES", "20000")  # the whole file unpacks to more than this
    outcomes = {o.pad: o for o in load_all(landing, warehouse)}
    assert "damaged or cut off" in outcomes["swev/toewijzingen_2025-05-02.xlsx"].reden
    assert "unpacks to" in outcomes["swev/toewijzingen_2025-04-02.xlsx"].reden
    assert "FAIRSHARE_XLSX_MAX_BYTES" in outcomes["swev/toewijzingen_2025-04-02.xlsx"].reden


def test_a_csv_byte_that_windows_1252_leaves_undefined_is_a_bad_value_not_a_crash(landing, warehouse):
    path = write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(i, datum="01-03-2025") for i in range(1, 4)],
        encoding="cp1252",
    )
    data = path.read_bytes()
    assert b"T0002;Portaal;Amersfoort;01-03-2025;600.0;" in data
    path.write_bytes(
        data.replace(
            b"T0002;Portaal;Amersfoort;01-03-2025;600.0;", b"T0002;Portaal;Amersfoort;01-03-2025;6\x8100.0;"
        )
    )
    [outcome] = load_all(landing, warehouse)
    assert outcome.status == "geladen" and outcome.rijen_geladen == 2
    [(rij, kolom)] = query(warehouse, "SELECT rijnummer, kolom FROM audit.quarantaine")
    assert (rij, kolom) == (3, "netto_huur")


def test_a_warehouse_folder_that_cannot_hold_the_lock_is_a_usage_error(tmp_path):
    (tmp_path / "geen-map").write_text("a file where the warehouse folder should be")
    result = fairshare(
        "run",
        "--demo",
        "--landing",
        str(tmp_path / "landing"),
        "--warehouse",
        str(tmp_path / "geen-map" / "fairshare.duckdb"),
    )
    assert result.returncode == 2 and "cannot be created" in result.stderr
    no_traceback(result)
    assert len(result.stderr.strip().splitlines()) == 1


# 4. Half-copied files ----------------------------------------------------------------------------------------


def test_a_csv_line_cut_short_is_a_bad_row_and_the_rest_loads(landing, warehouse):
    rows = [toewijzing_row(i, datum="01-03-2025") for i in range(1, 5)]
    path = write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", TOEWIJZINGEN_HEADER, rows)
    text = path.read_text()
    path.write_text(text + "T0099;Portaal;Amersf\n" + 'T0098;"Port;aal";Baarn;01-03-2025;600;2\n')
    [outcome] = load_all(landing, warehouse)
    assert outcome.rijen_geladen == 5  # the four rows, and the row whose quoted field holds a ';'
    [bad] = query(warehouse, "SELECT rijnummer, kolom, reden FROM audit.quarantaine")
    assert bad[0] == 6 and "toewijzingsdatum" in bad[1].split(", ")
    assert "column 'Toewijzingsdatum' (toewijzingsdatum): the line has 3 of the header's 6 fields" in bad[2]


def _copy_slowly(
    source: bytes, target: Path, stop: threading.Event, step: int = 4096, pause: float = 0.02
) -> None:
    with open(target, "ab") as fh:
        for start in range(target.stat().st_size, len(source), step):
            if stop.is_set():
                return
            fh.write(source[start : start + step])
            fh.flush()
            time.sleep(pause)


def _load_while_copying(
    landing, warehouse, content: bytes, done: float, settle: float, step: int = 4096, pause: float = 0.02
):
    """Load the SWEV folder while its one file, ``done`` of it there already, is still being copied."""
    target = landing / "swev" / "toewijzingen_2025-04-02.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content[: int(len(content) * done)])
    stop = threading.Event()
    copier = threading.Thread(target=_copy_slowly, args=(content, target, stop, step, pause))
    copier.start()
    try:
        [outcome] = load_source(warehouse, landing, "swev", load_config(), DEMO_KEY.encode(), settle=settle)
    finally:
        stop.set()
        copier.join()
    for table in ("raw.swev_toewijzingen", "audit.bestanden", "audit.quarantaine"):  # nothing of it recorded
        assert query(warehouse, f"SELECT count(*) FROM {table}") == [(0,)]
    return target, outcome


def _csv_bytes(n: int) -> bytes:
    lines = [";".join(TOEWIJZINGEN_HEADER)] + [
        ";".join(map(str, toewijzing_row(i, datum="01-03-2025"))) for i in range(1, n + 1)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_a_file_still_being_copied_is_left_for_the_next_run_then_loaded_whole(landing, warehouse, tmp_path):
    content = _csv_bytes(3000)
    target, first = _load_while_copying(landing, warehouse, content, done=0.45, settle=0.5)  # 45% copied
    assert first.status == "overgeslagen" and "still being written" in first.reden
    target.write_bytes(content)  # the copy completes
    old = time.time() - 60
    os.utime(target, (old, old))
    [second] = load_source(warehouse, landing, "swev", load_config(), DEMO_KEY.encode(), settle=0.5)
    assert second.status == "geladen" and second.rijen_geladen == 3000
    reference = tmp_path / "referentie.duckdb"
    load_source(reference, landing, "swev", load_config(), DEMO_KEY.encode())
    sql = "SELECT * EXCLUDE (_bestand_id) FROM raw.swev_toewijzingen ORDER BY _rijnummer"
    assert query(warehouse, sql) == query(reference, sql)


def test_a_file_changed_a_moment_ago_is_watched_only_for_what_is_left_of_the_interval(tmp_path, monkeypatch):
    """The settle interval counts from a file's last change (its ctime moves with every write): a file changed a
    second ago is watched for the remaining nine seconds of a ten-second interval, not for ten more."""
    from ingest import landing as landing_files

    written = tmp_path / "toewijzingen_2025-04-02.csv"
    written.write_bytes(_csv_bytes(3))
    time.sleep(1.0)
    age = time.time() - written.stat().st_ctime
    slept: list[float] = []
    monkeypatch.setattr(landing_files.time, "sleep", slept.append)
    assert landing_files.still_changing([written], settle=10) == {}  # unchanged meanwhile: complete
    [waited] = slept
    assert 10 - age - 0.5 < waited <= 10 - age + 0.01


def test_a_file_that_changes_while_it_is_read_is_rolled_back(landing, warehouse):
    # No settle interval: only the hash before and after the read can notice.
    _, outcome = _load_while_copying(
        landing, warehouse, _csv_bytes(40000), done=0.5, settle=0, step=2048, pause=0.005
    )
    assert outcome.status == "overgeslagen" and "changed while it was read" in outcome.reden


# 5, 6 and 1 in a whole run, and 2: two runs at once ----------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_then_queued(sample_run, tmp_path_factory):
    """One whole run over the sample with links, a future-dated name and a hostile sheet added; while it holds
    the warehouse, a second run that refuses and a third that waits (`--wait`) and then finds nothing new.

    Two scenarios in one set of runs, because their outcomes are separable: the hostile files are rejected or
    ignored by the first run, which the lock scenario needs as its long first run anyway; the refused run stops
    before it reads anything, and the waiting run only re-sights the same files (the fingerprint of a rejected
    file is the same each run, so it is "nothing new", and it rebuilds nothing). Neither the lock nor the queue
    can reject a file or keep a secret out; no hostile file can make a run refuse or wait.
    Returns (base, first, refused, waiting): each (returncode, stdout, stderr) with the first's pid."""
    base = tmp_path_factory.mktemp("hostile-queued")
    landing = sample_copy(sample_run, base)
    secret = base / "geheim" / "wachtwoorden.csv"
    secret.parent.mkdir()
    secret.write_text("GEHEIMWACHTWOORD-7781;admin\n")
    (landing / "swev" / "toewijzingen_2026-05-01.csv").symlink_to(secret)
    (landing / "planregister" / "extern").symlink_to(secret.parent, target_is_directory=True)
    shutil.copy(
        landing / "swev" / "toewijzingen_2026-11-03.csv", landing / "swev" / "toewijzingen_2099-01-01.csv"
    )
    sparse_xlsx(
        landing / "urgentie" / "baarn_2026-01-15.xlsx", REGISTER_HEADER, [["L1", "15-01-2026", ""]], lie=True
    )
    warehouse = base / "warehouse" / "fairshare.duckdb"
    first = fairshare(*run_args(base), popen=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (lock.holder(warehouse) or {}).get("pid") == first.pid:
        assert first.poll() is None and time.time() < deadline
        time.sleep(0.05)
    refused = fairshare(*run_args(base))
    waiting = fairshare(
        *run_args(base, None, "--wait", "900"),
        popen=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = first.communicate(timeout=900)
    w_out, w_err = waiting.communicate(timeout=900)
    return (
        base,
        (first.returncode, out, err, first.pid),
        (refused.returncode, refused.stdout, refused.stderr),
        (waiting.returncode, w_out, w_err),
    )


@pytest.mark.slow
def test_links_future_dates_and_hostile_sheets_never_stop_a_run_nor_change_its_figures(
    sample_run, hostile_then_queued
):
    _, _, reference, _ = sample_run
    tmp_path, (code, stdout, stderr, _), refused, waiting = hostile_then_queued
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    warehouse = tmp_path / "warehouse" / "fairshare.duckdb"
    assert marts(warehouse) == marts(reference)
    assert query(warehouse, "SELECT * FROM info.peildatum") == query(
        reference, "SELECT * FROM info.peildatum"
    )
    rejected = dict(
        query(warehouse, "SELECT pad, reden FROM audit.bestanden_actueel WHERE status = 'afgewezen'")
    )
    assert set(rejected) == {"swev/toewijzingen_2099-01-01.csv", "urgentie/baarn_2026-01-15.xlsx"}
    assert "swev/toewijzingen_2099-01-01.csv" in rejected["swev/toewijzingen_2099-01-01.csv"]
    assert "2099-01-01) lies after today" in rejected["swev/toewijzingen_2099-01-01.csv"]
    assert query(
        warehouse, "SELECT count(*) FROM audit.bestanden WHERE pad LIKE '%2026-05-01%' OR pad LIKE '%extern%'"
    ) == [(0,)]
    assert "symbolic link" in stderr
    for text in (
        stdout,
        stderr,
        *refused[1:],
        *waiting[1:],  # the runs after it saw the same links
        warehouse.read_bytes().decode("latin-1"),
        *(p.read_bytes().decode("latin-1") for p in (tmp_path / "reports").rglob("*") if p.is_file()),
    ):
        assert "GEHEIMWACHTWOORD" not in text


@pytest.mark.slow
def test_a_second_run_waits_for_the_first_or_says_who_holds_the_warehouse(sample_run, hostile_then_queued):
    _, _, reference, _ = sample_run
    tmp_path, (code, _, err, pid), (r_code, _, r_err), (w_code, w_out, w_err) = hostile_then_queued
    warehouse = tmp_path / "warehouse" / "fairshare.duckdb"
    assert code == 0, err[-3000:]
    assert r_code == 2
    assert "Traceback" not in r_err, r_err[-3000:]
    [line] = r_err.strip().splitlines()
    assert f"process {pid}" in line and "--wait" in line
    assert w_code == 0, w_err[-3000:]
    assert "Traceback" not in w_err
    assert (
        "nothing new since the last complete build" in w_out
    )  # it ran after the first and found nothing new
    assert marts(warehouse) == marts(reference)
    assert lock.holder(warehouse) is None


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    warehouse = tmp_path / "w" / "fairshare.duckdb"
    with lock_held_elsewhere(warehouse) as holder:
        with pytest.raises(lock.WarehouseLocked, match=f"process {holder.pid}"):
            with lock.hold(warehouse, wait=0.3):
                pass
    with lock.hold(warehouse):  # the dead holder's lock is free at once
        assert lock.holder(warehouse)["pid"] == os.getpid()
        with lock.hold(warehouse):  # re-entrant within one process
            pass
    assert lock.holder(warehouse) is None


def run_paused_before_publication(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """A `fairshare run` on ``tmp_path`` that stops before its publication step (the test hook) until released."""
    pause = tmp_path / "pause"
    pause.mkdir()
    run = fairshare(
        *run_args(tmp_path),
        env={"FAIRSHARE_PAUSE_AT": "publish", "FAIRSHARE_PAUSE_DIR": str(pause)},
        popen=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 900
    while not (pause / "publish.reached").exists():
        assert run.poll() is None, run.communicate()[1][-3000:]
        assert time.time() < deadline
        time.sleep(0.1)
    return run, pause / "publish.continue"


def rebuild_of_the_sample(sample_run, base: Path) -> Path:
    """The sample's built installation copied to ``base``, its report files removed: the next run there
    rebuilds (dbt, gate, report, publication: ``builds.up_to_date`` wants the reports on disk) over the same
    rows, without reading the 44 files again as a run from scratch would. Returns the warehouse file."""
    warehouse = sample_built(sample_run, base)
    for path in (base / "reports").glob("bo_wonen_zorg_*"):
        path.unlink()
    return warehouse


# 8 and 3. Board reports only for board dates; a build is exactly what it read ----------------------------------

ADHOC = ("--peildatum", "2026-06-15")


@pytest.fixture(scope="module")
def adhoc_then_late(sample_run, tmp_path_factory):
    """From the sample's built installation: an ad-hoc peildatum refused without --adhoc, an ad-hoc run, then
    the next board run, paused before its publication while another writer commits a late delivery, then the
    run after it.

    One sequence for two scenarios, because their outcomes are separable: the board run must rebuild (the
    warehouse holds the ad-hoc figures) and publish the board figures, and the late delivery is committed
    after that run's dbt read the warehouse, so it cannot change what the board run built or published (both
    scenarios assert exactly that: the sample's marts); the run after it rebuilds every mart from the raw
    tables, so the ad-hoc build before cannot make the late delivery's figures. What each test asserts about
    a state between the runs is taken at that moment and returned:
    (base, refused, adhoc, board, late, state) with state a dict of what was seen after each run."""
    base = tmp_path_factory.mktemp("adhoc-late")
    warehouse = sample_built(sample_run, base)
    landing, serving = base / "landing", base / "serving" / "fairshare.duckdb"
    publish.owner_file(serving).unlink()  # a copy made before owners were noted
    state = {"served": serving.read_bytes()}
    stale = [
        base / "serving" / ".fairshare.duckdb.4242.tmp",
        base / "serving" / ".fairshare.duckdb.4242.tmp.wal",
        base / "reports" / ".bo_wonen_zorg_2026-12.html.4242.tmp",
    ]
    for path in stale:
        path.write_text("left by a killed run")
    refused = fairshare(*run_args(base, landing, *ADHOC))
    adhoc = fairshare(*run_args(base, landing, *ADHOC, "--adhoc"))
    state["adhoc_written"] = sorted(
        p.name for p in (base / "reports").glob("bo_wonen_zorg_adhoc_2026-06-15*")
    )
    state["served_after_adhoc"] = serving.read_bytes()
    state["stale_left"] = [p for p in stale if p.exists()]
    board, release = run_paused_before_publication(base)
    # Between dbt and the publication, another writer commits a new delivery (as a second run could before the lock).
    write_csv(
        landing / "urgentie" / "baarn_2026-01-15.csv",
        REGISTER_HEADER,
        [[f"LAAT{i}", "15-01-2026", ""] for i in range(3)],
    )
    late = [
        o
        for o in load_source(warehouse, landing, "urgentie", load_config(), DEMO_KEY.encode())
        if o.status == "geladen"
    ]
    release.touch()
    _, err = board.communicate(timeout=900)
    state["board"] = (board.returncode, err)
    state["marts_after_board"], state["served_after_board"] = marts(warehouse), marts(serving)
    settings = Settings.from_env(
        {}, landing=str(landing), warehouse=str(warehouse), demo=True, reports=str(base / "reports")
    )
    with store.connect(warehouse) as conn:
        state["up_to_date_after_board"] = builds.up_to_date(conn, settings)[0]
    state["again"] = fairshare(*run_args(base))
    return base, refused, adhoc, late, state


@pytest.mark.slow
def test_a_delivery_committed_after_dbt_read_the_warehouse_is_built_by_the_next_run(
    sample_run, adhoc_then_late
):
    _, _, reference, _ = sample_run
    tmp_path, _, _, late, state = adhoc_then_late
    warehouse = tmp_path / "warehouse" / "fairshare.duckdb"
    [late] = late
    assert late.pad == "urgentie/baarn_2026-01-15.csv" and late.rijen_geladen == 3
    code, err = state["board"]
    assert code == 0, err[-3000:]
    assert state["marts_after_board"] == marts(reference)  # what dbt read: without the late delivery
    assert not state["up_to_date_after_board"]  # the late delivery is not counted as built
    again = state["again"]
    assert again.returncode == 0, again.stderr[-3000:]
    now, before = marts(warehouse), marts(reference)
    assert {m for m in now if now[m] != before[m]} == {"urgentie_aanvragen"}
    [baarn] = query(
        warehouse, "SELECT gemeente_code FROM referentie.gemeenten WHERE gemeente_naam = 'Baarn'"
    )[0]
    sql = "SELECT aanvragen, in_behandeling FROM marts.urgentie_aanvragen WHERE commissie = ? AND jaar = 2026"
    (new_n, new_open), (old_n, old_open) = (
        query(warehouse, sql, [baarn])[0],
        query(reference, sql, [baarn])[0],
    )
    assert (new_n - old_n, new_open - old_open) == (3, 3)
    assert marts(tmp_path / "serving" / "fairshare.duckdb") == now


@pytest.mark.slow
def test_an_adhoc_peildatum_needs_adhoc_writes_its_own_report_and_never_publishes(
    sample_run, adhoc_then_late
):
    _, _, reference, _ = sample_run
    _, refused, adhoc, _, state = adhoc_then_late
    assert (
        refused.returncode == 2 and "--adhoc" in refused.stderr and "1 April or 1 November" in refused.stderr
    )
    assert adhoc.returncode in (0, 1), adhoc.stderr[-3000:]
    written = state["adhoc_written"]
    assert written and all(n.startswith("bo_wonen_zorg_adhoc_2026-06-15") for n in written)
    assert state["served_after_adhoc"] == state["served"]
    assert not state["stale_left"]
    # The next board run rebuilds (the warehouse holds the ad-hoc figures) and publishes the board figures again.
    code, err = state["board"]
    assert code == 0, err[-3000:]
    assert state["marts_after_board"] == marts(reference)
    assert state["served_after_board"] == marts(reference)


# 7. Mistakes are stopped before anything is read ------------------------------------------------------------


def test_common_mistakes_stop_at_once_in_one_sentence(tmp_path):
    base = tmp_path
    missing = fairshare(*run_args(base))
    assert (
        missing.returncode == 2 and "landing folder" in missing.stderr and "does not exist" in missing.stderr
    )
    (base / "landing" / "swev").mkdir(parents=True)
    partial = fairshare(*run_args(base))
    assert partial.returncode == 2 and "no subfolder urgentie/, planregister/" in partial.stderr
    for sub in ("urgentie", "planregister"):
        (base / "landing" / sub).mkdir()
    (base / "reports").write_text("a file where the reports folder should be")
    unwritable = fairshare(*run_args(base))
    assert (
        unwritable.returncode == 2
        and f"reports folder {base / 'reports'} is not writable" in unwritable.stderr
    )
    (base / "reports").unlink()
    warehouse = base / "warehouse" / "fairshare.duckdb"
    warehouse.parent.mkdir(exist_ok=True)
    duckdb.connect(str(warehouse)).close()
    analyst = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], "
            "read_only=True); print('open', flush=True); time.sleep(600)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout.readline().strip() == "open"
        locked = fairshare(*run_args(base))
    finally:
        analyst.kill()
        analyst.wait()
    assert locked.returncode == 2 and f"(PID {analyst.pid})" in locked.stderr and "close it" in locked.stderr
    for result in (missing, partial, unwritable, locked):
        no_traceback(result)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (base / "reports").exists() or not any((base / "reports").iterdir())
    assert query(warehouse, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw'") == [
        (0,)
    ]


def test_a_failing_step_exits_3_naming_the_step_and_its_cause(sample_run, tmp_path):
    rebuild_of_the_sample(sample_run, tmp_path)
    run, release = run_paused_before_publication(tmp_path)
    shutil.rmtree(tmp_path / "serving", ignore_errors=True)
    (tmp_path / "serving").write_text("the disk of the serving folder went away")
    release.touch()
    _, err = run.communicate(timeout=900)
    assert run.returncode == 3
    last = err.strip().splitlines()[-1]
    step = keys.asset_key(DEFAULT_REGIO, *keys.PUBLICATION).to_python_identifier()
    assert last.startswith(f"fairshare: the pipeline failed: step {step} failed:"), last
    assert "serving" in last or "Not a directory" in last or "File exists" in last, last


# 9. Published copies, temporary files ------------------------------------------------------------------------


def test_two_warehouses_never_share_a_published_copy(sample_run, tmp_path):
    from fairshare.runner import check_ready

    _, _, reference, _ = sample_run
    landing = sample_copy(sample_run, tmp_path)
    prod, test = tmp_path / "prod" / "x.duckdb", tmp_path / "test" / "x.duckdb"
    for path in (prod, test):
        path.parent.mkdir()
        shutil.copy(reference, path)
    publish.publish_duckdb(prod, tmp_path / "serving" / "x.duckdb")
    settings = Settings.from_env(
        {}, landing=str(landing), warehouse=str(test), reports=str(tmp_path / "r"), demo=True
    )
    assert settings.serving_file == tmp_path / "serving" / "x.duckdb"
    with pytest.raises(ConfigError, match=f"belongs to the warehouse {prod}.*--serving"):
        check_ready(settings)
    check_ready(
        Settings.from_env(
            {}, landing=str(landing), warehouse=str(prod), reports=str(tmp_path / "r"), demo=True
        )
    )
    check_ready(
        Settings.from_env(
            {},
            landing=str(landing),
            warehouse=str(test),
            reports=str(tmp_path / "r"),
            serving=str(tmp_path / "test-serving" / "x.duckdb"),
            demo=True,
        )
    )


def test_a_file_written_in_place_is_whole_or_unchanged(tmp_path):
    target = tmp_path / "rapport.html"
    target.write_text("oud")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed halfway")
    assert target.read_text() == "oud" and [p.name for p in tmp_path.iterdir()] == ["rapport.html"]
    with atomic_path(target) as tmp:
        tmp.write_text("nieuw")
    assert target.read_text() == "nieuw" and [p.name for p in tmp_path.iterdir()] == ["rapport.html"]
