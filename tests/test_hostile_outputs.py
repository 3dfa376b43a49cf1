"""Hostile runs (issue 18), where a run writes: nothing overwrites the warehouse, a published copy is a regular
file or nothing, a full disk names the file and the next run recovers, a warehouse the pipeline did not write is
read as data. Each case runs `python -m fairshare.cli run` on real files; after each, the next normal run gives the
marts of an undisturbed run over the same files and a whole published copy. The clock and configuration cases are
in test_hostile_runs.py (one module took a worker's whole share of the suite)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from basics.region import DEFAULT_REGIO
from orchestration import keys
from tests.helpers import foreign_warehouse, query
from tests.helpers import sample_built as built
from tests.test_hostile_runs import assert_whole, digest, last_line, normal_run_is_whole, one_sentence
from tests.test_operation import ROOT, fairshare, run_args, sample_copy

PUBLICATION_STEP = keys.asset_key(DEFAULT_REGIO, *keys.PUBLICATION).to_python_identifier()  # its step key

# 5. Nothing overwrites the warehouse, 8. a published copy is a regular file, or nothing ---------------------------


@pytest.fixture(scope="module")
def refused(sample_run, tmp_path_factory):
    """One built copy of the sample: the runs refused for a serving path that is the warehouse (or its files),
    then those refused for a published copy that is a folder or a link, then the one normal run after them.

    The two tests share the normal run, each checking all it checked after a run of its own: every refused run
    stops before anything is read or written (each test checks that of its own runs: the warehouse byte for
    byte, nothing created, the folder's note kept), so the normal run starts from the state either scenario
    leaves alone. Neither can cause the other's outcome: the serving-path cases name their --serving/--reports
    and run while the published copy is a regular file; the folder and link cases come after, with the
    default paths. Returns (base, warehouse, what each step saw)."""
    _, _, reference, _ = sample_run
    base = tmp_path_factory.mktemp("refused")
    warehouse = built(sample_run, base)
    seen: dict = {}
    for report in (base / "reports").glob("bo_wonen_zorg_*"):
        report.unlink()  # something to do: the run would rebuild, and publish
    (base / "link.duckdb").symlink_to(warehouse)
    detour = Path(os.path.relpath(base, ROOT)) / "warehouse" / ".." / "warehouse" / warehouse.name
    seen["before"], seen["files"] = (
        digest(warehouse),
        query(warehouse, "SELECT count(*) FROM audit.bestanden"),
    )
    seen["serving"] = []
    for what, extra in {
        "the warehouse": ["--serving", str(warehouse)],
        "the warehouse, by a relative detour": ["--serving", str(detour)],
        "a link to the warehouse": ["--serving", str(base / "link.duckdb")],
        "the warehouse's WAL": ["--serving", f"{warehouse}.wal"],
        "the warehouse's lock": ["--serving", f"{warehouse}.lock"],
        "the reports folder is the warehouse": ["--reports", str(warehouse)],
    }.items():
        result = fairshare(*run_args(base, None, *extra))
        seen["serving"].append((what, result, digest(warehouse)))
    seen["files after"] = query(warehouse, "SELECT count(*) FROM audit.bestanden")
    # Names the publication and the reports write or clean up, given to a warehouse: refused before it exists.
    fresh = base / "nieuw"
    seen["fresh"] = []
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
            "run", "--demo", "--landing", str(base / "landing"), "--reports", str(fresh / "r"), *args
        )
        seen["fresh"].append((what, result, fresh.exists()))
    # The published copy is a folder, then a link.
    serving = base / "serving" / "fairshare.duckdb"
    serving.unlink()
    serving.mkdir()
    (serving / "notities.txt").write_text("someone's folder")
    seen["before folder"] = digest(warehouse)
    seen["folder"] = fairshare(*run_args(base))
    seen["note"] = (serving / "notities.txt").read_text()
    shutil.rmtree(serving)
    serving.symlink_to(reference.parent.parent / "serving" / "fairshare.duckdb")
    seen["link"] = fairshare(*run_args(base))
    seen["after link"] = digest(warehouse)
    serving.unlink()  # the folder moved out of the way: the next run publishes the copy again
    seen["whole"] = fairshare(*run_args(base))
    return base, warehouse, seen


@pytest.mark.slow
def test_a_serving_path_that_is_the_warehouse_or_its_files_stops_before_anything_is_read(sample_run, refused):
    _, _, reference, _ = sample_run
    base, warehouse, seen = refused
    for what, result, after in seen["serving"]:
        line = one_sentence(result)
        assert str(warehouse) in line or str(warehouse.resolve()) in line, (what, line)
        assert after == seen["before"], what
    assert seen["files after"] == seen["files"]
    for what, result, written in seen["fresh"]:
        assert "publish" in one_sentence(result) or "report" in one_sentence(result), what
        assert not written, what  # nothing written: not even the lock file or its folder
    assert_whole(seen["whole"], base, reference)


@pytest.mark.slow
def test_a_published_copy_that_is_a_folder_or_a_link_is_refused_never_reported_as_published(
    sample_run, refused
):
    _, _, reference, _ = sample_run
    base, warehouse, seen = refused
    serving = base / "serving" / "fairshare.duckdb"
    assert f"the published copy {serving} is a folder" in one_sentence(seen["folder"])
    assert "Published for readers" not in seen["folder"].stdout
    assert seen["note"] == "someone's folder"
    assert f"the published copy {serving} is a symbolic link" in one_sentence(seen["link"])
    assert seen["after link"] == seen["before folder"]
    assert_whole(seen["whole"], base, reference)


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
            rf"step {DEFAULT_REGIO}__raw__\w+ failed: no space left on device writing {re.escape(str(warehouse))}",
            line,
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
            rf"step {PUBLICATION_STEP} failed: no space left on device writing "
            rf"{re.escape(str(serving.parent))}/\.fairshare\.duckdb\.\d+\.tmp",
            line,
        ), line
        assert not serving.exists()
        grow("100m")
        normal_run_is_whole(tmp_path, reference)


def test_an_existing_warehouse_is_read_as_data_before_it_is_known_to_be_ours(tmp_path):
    """A file at --warehouse that the pipeline did not write: its views never run (they could read any file)."""
    import duckdb

    from fairshare.runner import _warehouse_region
    from warehouse import store

    foreign, _ = foreign_warehouse(
        tmp_path,
        "CREATE SCHEMA audit; CREATE SCHEMA referentie",
        "CREATE VIEW audit.pseudoniem_sleutel AS SELECT content AS vingerafdruk FROM read_text('{secret}')",
        "CREATE VIEW referentie.regio AS SELECT content AS regio_code FROM read_text('{secret}')",
    )
    with duckdb.connect(str(foreign)) as conn:
        assert "Jansen" in conn.execute("SELECT vingerafdruk FROM audit.pseudoniem_sleutel").fetchone()[0]
    assert store.stored_fingerprint(foreign) is None
    assert _warehouse_region(foreign) is None
