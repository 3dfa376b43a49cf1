"""Hostile runs (issue 18): builds are ordered by a sequence and not the clock, the published copy knows what it
holds, every exit 3 names its root cause, configuration is checked before anything is read, a quote in a path
works. Each case runs `python -m fairshare.cli run` on real files; after each, the next normal run gives the
marts of an undisturbed run over the same files and a whole published copy. Where a run writes (the warehouse,
the published copy, a full disk) is in test_hostile_outputs.py, which uses the helpers here."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
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
from tests.test_operation import fairshare, no_traceback, run_args, sample_copy
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


def _as_region(found: dict[str, list], regio: str | None) -> dict[str, list]:
    """The marts, sorted, with kerncijfers' region rows under the code ``regio`` (None: as they are)."""
    return {
        m: sorted(
            (
                r[:1] + (regio,) + r[2:] if regio and m == "kerncijfers" and r[0] == "regio" else r
                for r in rows
            ),
            key=repr,
        )
        for m, rows in found.items()
    }


def normal_run_is_whole(
    base: Path, reference: Path, *extra: str, warehouse: Path | None = None, serving: Path | None = None
) -> subprocess.CompletedProcess:
    """The next normal run: exit 0, the marts of the undisturbed run, and a published copy holding them and
    saying which build it is (the last one, by number)."""
    result = fairshare(*run_args(base, None, *extra))
    return assert_whole(result, base, reference, warehouse=warehouse, serving=serving)


def assert_whole(
    result: subprocess.CompletedProcess,
    base: Path,
    reference: Path,
    warehouse: Path | None = None,
    serving: Path | None = None,
    regio: str | None = None,
) -> subprocess.CompletedProcess:
    """What ``normal_run_is_whole`` checks, on a normal run already made (one that tests share). ``regio``: the
    run's region when it is a copy of the reference's pack under another code (its region row carries that code)."""
    warehouse = warehouse or base / "warehouse" / "fairshare.duckdb"
    serving = serving or warehouse.parent.parent / "serving" / warehouse.name
    assert result.returncode == 0, result.stderr[-3000:]
    no_traceback(result)
    expected = _as_region(marts(reference), regio)
    assert _as_region(marts(warehouse), None) == expected
    assert serving.is_file() and not serving.is_symlink() and _as_region(marts(serving), None) == expected
    held = publish.holds(serving)
    [(bouw, vingerafdruk)] = query(
        warehouse, "SELECT bouw_nr, vingerafdruk FROM audit.bouw ORDER BY bouw_nr DESC LIMIT 1"
    )
    assert (held["peildatum"], held["bouw"], held["vingerafdruk"]) == (NOVEMBER, bouw, vingerafdruk)
    assert not list(serving.parent.glob(".*.tmp*"))
    return result


# 6. Clock skew: builds are ordered by a sequence, the copy knows what it holds --------------------------------


def faked_clock(moment: str) -> dict[str, str]:
    """Environment that sets the clock of a process and its children to ``moment`` (libfaketime, `make test`
    installs it): date.today(), DuckDB's current_timestamp and dbt all see it; monotonic time stays real.

    libfaketime 0.9.10 (Debian 12) makes Python's time.sleep fail with EINVAL when monotonic time is left
    real (and with monotonic time faked, timed condition waits never return): a run under it needs
    ``--settle 0``, the one place a run sleeps. The settle interval plays no part in what is tested here.
    Its "monotonic fix" for condition variables (on by default for this glibc) makes every timed wait on a
    monotonic condition return at once: Python's GIL waits so, and two busy threads hand it over thousands of
    times a second (two counting threads: 0.5 s real, 9.8 s under it; the run's dbt build 27 s, 95 s).
    FAKETIME_FORCE_MONOTONIC_FIX=0 turns it off: timed waits last their time again, the clock is still faked.
    """
    found = sorted(
        glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
        + glob.glob("/usr/lib/faketime/libfaketime.so.1")
        + glob.glob("/usr/local/lib/faketime/libfaketime.so.1")
    )
    assert found, "libfaketime is missing: install Debian's faketime package (make test does, as root)"
    return {
        "LD_PRELOAD": found[0],
        "FAKETIME": f"@{moment}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_FORCE_MONOTONIC_FIX": "0",
    }


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


@pytest.fixture(scope="module")
def pack_and_quote(sample_run, tmp_path_factory):
    """The sample under a region pack of its own, with a quote in the warehouse's folder and name: the runs
    refused for a missing seed and a bad header, the run dbt fails on a bad seed value, then the normal run.

    The region-pack test and the quote test share these runs (the quote test needed one normal run of its own
    from scratch): the quote is in no seed, message or value the pack's cases check, and a pack changes no
    path (each case's message names the seed file or dbt's error, the quote test reads the summary's connect
    hint and the marts). What the quote test proved end to end still happens with the quoted path, ingest in
    the run dbt fails on, the rest in the normal run; both are checked whole by its marts and copy. The pack is
    gone before the tests read. Returns (base, pack, warehouse, what each step saw)."""
    base = tmp_path_factory.mktemp("pack")
    sample_copy(sample_run, base)
    code = f"proef_{uuid.uuid4().hex[:8]}"
    warehouse = base / "wh 'x'" / "o'brien.duckdb"
    args = run_args(base, None, "--regio", code, "--warehouse", str(warehouse))
    seen: dict = {}
    with region_pack(code) as pack:
        seeds = pack / "seeds"
        opgaven = (seeds / "opgaven.csv").read_bytes()
        (seeds / "opgaven.csv").unlink()
        seen["missing"] = fairshare(*args)
        (seeds / "opgaven.csv").write_bytes(opgaven)
        gemeenten = (seeds / "gemeenten.csv").read_text(encoding="utf-8")
        (seeds / "gemeenten.csv").write_text(
            gemeenten.replace("in_afspraak", "deelnemer", 1), encoding="utf-8"
        )
        seen["header"] = fairshare(*args)
        seen["written"] = warehouse.parent.exists() or (base / "reports").exists()
        # A flag that is neither true nor false: the pack check (basics.packcheck) names file, line and column.
        (seeds / "gemeenten.csv").write_text(gemeenten.replace(",true,", ",misschien,", 1), encoding="utf-8")
        seen["flag"] = fairshare(*args)
        (seeds / "gemeenten.csv").write_text(gemeenten, encoding="utf-8")
        seen["written"] |= warehouse.parent.exists() or (base / "reports").exists()
        # A value dbt cannot load in a seed the pack check leaves to dbt (the published funnel, shown as
        # published): exit 3 with dbt's own error, not "The dbt CLI process".
        funnel = (seeds / "geschiktheid_referentie.csv").read_text(encoding="utf-8")
        header, first, rest = funnel.split("\n", 2)
        (seeds / "geschiktheid_referentie.csv").write_text(
            "\n".join([header, re.sub(r",\d+,", ",veel,", first, count=1), rest]), encoding="utf-8"
        )
        seen["failed"] = fairshare(*args)
        (seeds / "geschiktheid_referentie.csv").write_text(funnel, encoding="utf-8")
        seen["whole"] = fairshare(*args)
    seen["pack left"] = pack.exists()
    return base, pack, warehouse, seen


@pytest.mark.slow
def test_a_region_pack_without_a_seed_or_with_a_bad_header_stops_before_anything_is_read(
    sample_run, pack_and_quote
):
    _, _, reference, _ = sample_run
    base, pack, warehouse, seen = pack_and_quote
    seeds = pack / "seeds"
    assert f"{pack} has no seed file seeds/opgaven.csv" in one_sentence(seen["missing"])
    assert f"{seeds / 'gemeenten.csv'} lacks the column in_afspraak" in one_sentence(seen["header"])
    assert seen["flag"].returncode == 2
    assert (
        f"regions/{pack.name}/seeds/gemeenten.csv, line 2, column in_afspraak: 'misschien' is not true or "
        "false" in one_sentence(seen["flag"])
    )
    assert not seen["written"]  # nothing read or written
    failed = last_line(seen["failed"])
    assert failed.startswith(
        "fairshare: the pipeline failed: step fairshare_dbt_assets failed: dbt build: "
        "Runtime Error in seed geschiktheid_referentie"
    ), failed
    assert "veel" in failed and "The dbt CLI process" not in failed
    assert_whole(seen["whole"], base, reference, warehouse=warehouse, regio=pack.name)
    assert not seen["pack left"]


@pytest.mark.slow
def test_a_quote_in_the_warehouse_path_works_end_to_end(sample_run, pack_and_quote):
    _, _, reference, _ = sample_run
    base, pack, warehouse, seen = pack_and_quote
    serving = base / "serving" / "o'brien.duckdb"
    result = assert_whole(
        seen["whole"], base, reference, warehouse=warehouse, serving=serving, regio=pack.name
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


_packs_made: list[Path] = []  # by region_pack, in this process


@pytest.fixture(autouse=True)
def _no_pack_left_behind():
    """A region pack made by a test never outlives it (the other tests read every pack in regions/).

    Checked on the packs this test made: another xdist worker may hold a pack of its own test meanwhile."""
    made = len(_packs_made)
    yield
    assert [p for p in _packs_made[made:] if p.exists()] == []
