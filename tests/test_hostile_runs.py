"""Hostile runs (issue 18): nothing overwrites the warehouse, builds are ordered by a sequence and not the clock,
the published copy knows what it holds, every exit 3 names its root cause, configuration is checked before
anything is read. Each case runs `python -m fairshare.cli run` on real files; after each, the next normal run
gives the marts of an undisturbed run over the same files and a whole published copy."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from basics import region
from tests.helpers import query, regions_lock
from tests.helpers import sample_built as built
from tests.test_faults import marts
from tests.test_operation import ROOT, fairshare, no_traceback, run_args, sample_copy
from warehouse import publish

NOVEMBER, APRIL = dt.date(2026, 11, 1), dt.date(2026, 4, 1)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_sentence(result, code: int = 2) -> str:
    """The single stderr line of a refused run."""
    assert result.returncode == code, (result.returncode, result.stdout[-2000:], result.stderr[-3000:])
    no_traceback(result)
    [line] = result.stderr.strip().splitlines()
    return line


def last_line(result) -> str:
    assert result.returncode == 3, (result.returncode, result.stderr[-3000:])
    no_traceback(result)
    return result.stderr.strip().splitlines()[-1]


def normal_run_is_whole(
    base: Path, reference: Path, *extra: str, warehouse: Path | None = None, serving: Path | None = None
) -> subprocess.CompletedProcess:
    """The next normal run: exit 0, the marts of the undisturbed run, and a published copy holding them and
    saying which build it is (the last one, by number)."""
    warehouse = warehouse or base / "warehouse" / "fairshare.duckdb"
    serving = serving or warehouse.parent.parent / "serving" / warehouse.name
    result = fairshare(*run_args(base, None, *extra))
    assert result.returncode == 0, result.stderr[-3000:]
    no_traceback(result)
    assert marts(warehouse) == marts(reference)
    assert serving.is_file() and not serving.is_symlink() and marts(serving) == marts(reference)
    held = publish.holds(serving)
    [(bouw, vingerafdruk)] = query(
        warehouse, "SELECT bouw_nr, vingerafdruk FROM audit.bouw ORDER BY bouw_nr DESC LIMIT 1"
    )
    assert (held["peildatum"], held["bouw"], held["vingerafdruk"]) == (NOVEMBER, bouw, vingerafdruk)
    assert not list(serving.parent.glob(".*.tmp*"))
    return result


# 5. Nothing overwrites the warehouse ----------------------------------------------------------------------------


def test_a_serving_path_that_is_the_warehouse_or_its_files_stops_before_anything_is_read(
    sample_run, tmp_path
):
    _, _, reference, _ = sample_run
    warehouse = built(sample_run, tmp_path)
    for report in (tmp_path / "reports").glob("bo_wonen_zorg_*"):
        report.unlink()  # something to do: the run would rebuild, and publish
    (tmp_path / "link.duckdb").symlink_to(warehouse)
    detour = Path(os.path.relpath(tmp_path, ROOT)) / "warehouse" / ".." / "warehouse" / warehouse.name
    before, files = digest(warehouse), query(warehouse, "SELECT count(*) FROM audit.bestanden")
    refused = {
        "the warehouse": ["--serving", str(warehouse)],
        "the warehouse, by a relative detour": ["--serving", str(detour)],
        "a link to the warehouse": ["--serving", str(tmp_path / "link.duckdb")],
        "the warehouse's WAL": ["--serving", f"{warehouse}.wal"],
        "the warehouse's lock": ["--serving", f"{warehouse}.lock"],
        "the reports folder is the warehouse": ["--reports", str(warehouse)],
    }
    for what, extra in refused.items():
        line = one_sentence(fairshare(*run_args(tmp_path, None, *extra)))
        assert str(warehouse) in line or str(warehouse.resolve()) in line, (what, line)
        assert digest(warehouse) == before, what
    assert query(warehouse, "SELECT count(*) FROM audit.bestanden") == files
    # Names the publication and the reports write or clean up, given to a warehouse: refused before it exists.
    fresh = tmp_path / "nieuw"
    for what, args in {
        "a new warehouse as its own copy": [
            "--warehouse",
            str(fresh / "x.duckdb"),
            "--serving",
            str(fresh / "x.duckdb"),
        ],
        "the copy's owner note": [
            "--warehouse",
            str(fresh / ".kopie.duckdb.bron"),
            "--serving",
            str(fresh / "kopie.duckdb"),
        ],
        "a temporary name of the copy": [
            "--warehouse",
            str(fresh / ".kopie.duckdb.77.tmp"),
            "--serving",
            str(fresh / "kopie.duckdb"),
        ],
        "a report's name": [
            "--warehouse",
            str(fresh / "bo_wonen_zorg_2026-12.xlsx"),
            "--reports",
            str(fresh),
        ],
    }.items():
        result = fairshare(
            "run", "--demo", "--landing", str(tmp_path / "landing"), "--reports", str(fresh / "r"), *args
        )
        assert "publish" in one_sentence(result) or "report" in one_sentence(result), what
        assert not fresh.exists(), what  # nothing written: not even the lock file or its folder
    normal_run_is_whole(tmp_path, reference)


# 8. A published copy is a regular file, or nothing ---------------------------------------------------------------


def test_a_published_copy_that_is_a_folder_or_a_link_is_refused_never_reported_as_published(
    sample_run, tmp_path
):
    _, _, reference, _ = sample_run
    warehouse = built(sample_run, tmp_path)
    serving = tmp_path / "serving" / "fairshare.duckdb"
    serving.unlink()
    serving.mkdir()
    (serving / "notities.txt").write_text("someone's folder")
    before = digest(warehouse)
    folder = fairshare(*run_args(tmp_path))
    assert f"the published copy {serving} is a folder" in one_sentence(folder)
    assert "Published for readers" not in folder.stdout
    assert (serving / "notities.txt").read_text() == "someone's folder"
    shutil.rmtree(serving)
    serving.symlink_to(reference.parent.parent / "serving" / "fairshare.duckdb")
    link = fairshare(*run_args(tmp_path))
    assert f"the published copy {serving} is a symbolic link" in one_sentence(link)
    assert digest(warehouse) == before
    serving.unlink()  # the folder moved out of the way: the next run publishes the copy again
    normal_run_is_whole(tmp_path, reference)


# 6. Clock skew: builds are ordered by a sequence, the copy knows what it holds --------------------------------


def faked_clock(moment: str) -> dict[str, str]:
    """Environment that sets the clock of a process and its children to ``moment`` (libfaketime, `make test`
    installs it): date.today(), DuckDB's current_timestamp and dbt all see it; monotonic time stays real.

    libfaketime 0.9.10 (Debian 12) makes Python's time.sleep fail with EINVAL when monotonic time is left
    real (and with monotonic time faked, timed condition waits never return): a run under it needs
    ``--settle 0``, the one place a run sleeps. The settle interval plays no part in what is tested here.
    """
    found = sorted(
        glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
        + glob.glob("/usr/lib/faketime/libfaketime.so.1")
        + glob.glob("/usr/local/lib/faketime/libfaketime.so.1")
    )
    assert found, "libfaketime is missing: install Debian's faketime package (make test does, as root)"
    return {"LD_PRELOAD": found[0], "FAKETIME": f"@{moment}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def test_a_run_with_the_clock_three_months_behind_then_a_right_one(sample_run, tmp_path):
    _, _, reference, _ = sample_run
    warehouse = built(sample_run, tmp_path)
    serving = tmp_path / "serving" / "fairshare.duckdb"
    assert publish.holds(serving)["peildatum"] == NOVEMBER
    skewed = fairshare(*run_args(tmp_path, None, "--settle", "0"), env=faked_clock("2026-09-01 12:00:00"))
    assert skewed.returncode == 0, skewed.stderr[-3000:]
    rejected = [
        r for (r,) in query(warehouse, "SELECT reden FROM audit.bestanden_actueel WHERE status = 'afgewezen'")
    ]
    assert len(rejected) == 11 and all("lies after today (2026-09-01)" in r for r in rejected), rejected
    assert (
        publish.holds(serving)["peildatum"] == APRIL
    )  # published, and said so on the console and in the summary
    warning = "the published copy now holds an OLDER peildatum: 1 april 2026, where it held 1 november 2026"
    assert warning in skewed.stderr and warning in skewed.stdout.split("Summary", 1)[1]
    # The clock is right again: the eleven files are read again, the November build is made and published.
    right = normal_run_is_whole(tmp_path, reference)
    assert "nothing new" not in right.stdout and "OLDER" not in right.stdout + right.stderr
    assert query(warehouse, "SELECT count(*) FROM audit.bestanden_actueel WHERE status = 'afgewezen'") == [
        (0,)
    ]
    builds = query(warehouse, "SELECT bouw_nr, voltooid_op FROM audit.bouw ORDER BY bouw_nr")
    assert [n for n, _ in builds] == list(range(1, len(builds) + 1)) and len(builds) == 3
    assert (
        builds[1][1] < builds[0][1]
    )  # the April build's clock says it came first: its number says otherwise
    again = fairshare(*run_args(tmp_path))
    assert again.returncode == 0 and "nothing new since the last complete build" in again.stdout, (
        again.stderr[-2000:]
    )


# 10. Exit 3 names its root cause; configuration is checked before anything is read -----------------------------


@contextmanager
def region_pack(name: str) -> Iterator[Path]:
    """A region pack in regions/ for the block: a copy of the default region's under another code (its own
    regio.csv says so: a warehouse built for one region never runs for another)."""
    pack = region.REGIONS_DIR / name
    with regions_lock(exclusive=True):  # no other worker lists the packs meanwhile
        _packs_made.append(pack)
        shutil.copytree(region.regio_dir(region.DEFAULT_REGIO), pack)
        regio = pack / "seeds" / "regio.csv"
        header, row = regio.read_text(encoding="utf-8").split("\n", 1)
        assert header.startswith("regio_code,") and row.startswith(f"{region.DEFAULT_REGIO},")
        regio.write_text(f"{header}\n{name}{row[len(region.DEFAULT_REGIO) :]}", encoding="utf-8")
        try:
            yield pack
        finally:
            shutil.rmtree(pack, ignore_errors=True)


def test_a_region_pack_without_a_seed_or_with_a_bad_header_stops_before_anything_is_read(
    sample_run, tmp_path
):
    _, _, reference, _ = sample_run
    sample_copy(sample_run, tmp_path)
    code = f"proef_{uuid.uuid4().hex[:8]}"
    warehouse = tmp_path / "warehouse" / "fairshare.duckdb"
    with region_pack(code) as pack:
        seeds = pack / "seeds"
        opgaven = (seeds / "opgaven.csv").read_bytes()
        (seeds / "opgaven.csv").unlink()
        missing = one_sentence(fairshare(*run_args(tmp_path, None, "--regio", code)))
        assert f"{pack} has no seed file seeds/opgaven.csv" in missing
        (seeds / "opgaven.csv").write_bytes(opgaven)
        gemeenten = (seeds / "gemeenten.csv").read_text(encoding="utf-8")
        (seeds / "gemeenten.csv").write_text(
            gemeenten.replace("in_afspraak", "deelnemer", 1), encoding="utf-8"
        )
        header = one_sentence(fairshare(*run_args(tmp_path, None, "--regio", code)))
        assert f"{seeds / 'gemeenten.csv'} lacks the column in_afspraak" in header
        assert (
            not warehouse.parent.exists() and not (tmp_path / "reports").exists()
        )  # nothing read or written
        # A value dbt cannot load (the header is right): exit 3 with dbt's own error, not "The dbt CLI process".
        (seeds / "gemeenten.csv").write_text(gemeenten.replace(",true,", ",misschien,", 1), encoding="utf-8")
        failed = last_line(fairshare(*run_args(tmp_path, None, "--regio", code)))
        assert failed.startswith(
            "fairshare: the pipeline failed: step fairshare_dbt_assets failed: dbt build: "
            "Runtime Error in seed gemeenten"
        ), failed
        assert "misschien" in failed and "The dbt CLI process" not in failed
        (seeds / "gemeenten.csv").write_text(gemeenten, encoding="utf-8")
        normal_run_is_whole(tmp_path, reference, "--regio", code)


def test_a_quote_in_the_warehouse_path_works_end_to_end(sample_run, tmp_path):
    _, _, reference, _ = sample_run
    sample_copy(sample_run, tmp_path)
    warehouse = tmp_path / "wh 'x'" / "o'brien.duckdb"
    serving = tmp_path / "serving" / "o'brien.duckdb"
    result = normal_run_is_whole(
        tmp_path, reference, "--warehouse", str(warehouse), warehouse=warehouse, serving=serving
    )
    [python] = re.findall(r"in Python: (duckdb\.connect\(.*\))$", result.stdout, re.M)
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import duckdb; c = {python}; "
            "print(c.execute('SELECT peildatum FROM info.publicatie').fetchone()[0])",
        ],
        capture_output=True,
        text=True,
    )
    assert opened.stdout.strip() == NOVEMBER.isoformat(), opened.stderr  # the summary's own hint works


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[callable]:
    """A real file system of ``size`` (tmpfs, mounted as root) at ``folder``; yields a function that grows it
    (as freeing space would). Everything on it goes when the block ends."""
    folder.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    assert mounted.returncode == 0, f"mounting a small tmpfs needs root: {mounted.stderr}"
    try:
        yield lambda bigger: subprocess.run(
            ["mount", "-o", f"remount,size={bigger}", str(folder)], check=True
        )
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_under_the_warehouse_names_the_file_and_the_next_run_recovers(sample_run, tmp_path):
    _, _, reference, _ = sample_run
    sample_copy(sample_run, tmp_path)
    warehouse = tmp_path / "warehouse" / "fairshare.duckdb"
    with small_disk(warehouse.parent, "6m") as grow:  # ingest alone writes more than this
        full = fairshare(*run_args(tmp_path))
        line = last_line(full)
        assert "cannot rollback" not in full.stderr, line
        assert re.search(
            rf"step raw__\w+ failed: no space left on device writing {re.escape(str(warehouse))}", line
        ), line
        grow("1g")  # space freed
        normal_run_is_whole(tmp_path, reference)


def test_a_full_disk_under_the_published_copy_names_the_file_and_the_next_run_publishes(sample_run, tmp_path):
    _, _, reference, _ = sample_run
    built(sample_run, tmp_path)
    shutil.rmtree(tmp_path / "serving")
    serving = tmp_path / "serving" / "fairshare.duckdb"
    with small_disk(serving.parent, "1m") as grow:  # the copy is about 12 MB
        line = last_line(fairshare(*run_args(tmp_path)))
        assert re.search(
            rf"step publicatie__marts failed: no space left on device writing "
            rf"{re.escape(str(serving.parent))}/\.fairshare\.duckdb\.\d+\.tmp",
            line,
        ), line
        assert not serving.exists()
        grow("100m")
        normal_run_is_whole(tmp_path, reference)


_packs_made: list[Path] = []  # by region_pack, in this process


@pytest.fixture(autouse=True)
def _no_pack_left_behind():
    """A region pack made by a test never outlives it (the other tests read every pack in regions/).

    Checked on the packs this test made: another xdist worker may hold a pack of its own test meanwhile."""
    made = len(_packs_made)
    yield
    assert [p for p in _packs_made[made:] if p.exists()] == []


def test_an_existing_warehouse_is_read_as_data_before_it_is_known_to_be_ours(tmp_path):
    """A file at --warehouse that the pipeline did not write: its views never run (they could read any file)."""
    import duckdb

    from fairshare.runner import _warehouse_region
    from warehouse import store

    secret = tmp_path / "register.txt"
    secret.write_text("Jansen;123456782;01-02-1980\n")
    foreign = tmp_path / "vreemd.duckdb"
    with duckdb.connect(str(foreign)) as conn:
        conn.execute("CREATE SCHEMA audit; CREATE SCHEMA referentie")
        conn.execute(
            f"CREATE VIEW audit.pseudoniem_sleutel AS SELECT content AS vingerafdruk FROM read_text('{secret}')"
        )
        conn.execute(
            f"CREATE VIEW referentie.regio AS SELECT content AS regio_code FROM read_text('{secret}')"
        )
        assert "Jansen" in conn.execute("SELECT vingerafdruk FROM audit.pseudoniem_sleutel").fetchone()[0]
    assert store.stored_fingerprint(foreign) is None
    assert _warehouse_region(foreign) is None
