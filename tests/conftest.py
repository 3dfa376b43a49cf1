"""Shared fixtures: a landing folder and a warehouse file per test, both real; one real sample run per session.

The suite runs on two pytest-xdist workers (pyproject.toml, `-n 2 --dist loadfile`): a module's tests run on one
worker, one after the other. The two expensive session fixtures (the sample run, the two regions' runs) are made
once for all workers (``_once``: the first worker to ask makes them in the session's shared temporary folder, the
other waits and reads them); every test only reads their folders. regions/, shared by all workers, is guarded by
``helpers.regions_lock`` (below). ``-m "not slow"`` leaves out every test that needs a real pipeline run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ingest.config import load_config
from tests import zygote
from tests.helpers import demo_run, regions_lock
from tools.sample import write_sample
from tools.sample.writer import SampleSummary

ROOT = Path(__file__).resolve().parents[1]
_RAM = Path("/dev/shm")  # a RAM disk (tmpfs), where there is one


# Tests are spread over two workers by module (`--dist loadfile`: a module's fixtures run once, on one worker).
# regions/ is shared by every worker: the region-pack test of test_hostile_runs.py puts a pack there for its
# duration, while test_regions.py and test_province_hostile.py list and digest every pack, so those two hold
# `helpers.regions_lock` shared for their whole module and the pack test holds it exclusively.
# (`--dist loadgroup` would be the obvious tool, but xdist 3.8 writes its group suffix to a node attribute
# pytest 9 no longer reads, so its groups are silently ignored.)
# Fixtures that make a real pipeline run (the sample's, or a module's own): a test using one is slow.
PIPELINE_FIXTURES = {
    *("sample_run", "two_builds", "copies", "two_regions", "voorbeeld", "wh", "hostile_run", "blocked"),
    *("hostile_then_queued", "adhoc_then_late", "checked_run", "refused", "pack_and_quote"),
}


# Seconds per module of the last full run written with --store-durations: the workers take the longest modules
# first (xdist's own order is by number of tests, which puts a module of three 60 s tests last and leaves the
# other worker idle at the end). A module not listed counts as longest; a stale figure only costs balance.
DURATIONS = Path(__file__).with_name("durations.json")


def pytest_configure(config):
    """Temporary folders on a RAM disk where there is one (before pytest or xdist picks its base folder).

    Every test writes real DuckDB, SQLite, xlsx and csv files, and DuckDB syncs each commit to disk: on this
    machine's disk a sync takes ~5 ms, and a run commits a few hundred times. What the tests check of those files
    does not depend on the medium; the full-disk tests mount a file system of their own. Children inherit TMPDIR.
    """
    if "TMPDIR" not in os.environ and _RAM.is_dir() and os.access(_RAM, os.W_OK):
        os.environ["TMPDIR"] = str(_RAM)
        tempfile.tempdir = None  # recomputed from TMPDIR


def pytest_addoption(parser):
    parser.addoption(
        "--store-durations",
        action="store_true",
        help="write each test module's seconds to tests/durations.json (the order modules are handed out in)",
    )


def _module(item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config, items):
    """Mark slow every test that uses a pipeline fixture; order the modules longest first (``DURATIONS``)."""
    for item in items:
        if PIPELINE_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    items.sort(key=lambda item: -seconds.get(_module(item), float("inf")))  # stable: a module keeps its order
    _second_needs_another_run(items)


SHARED_RUNS = ("sample_run", "two_regions")  # made once per session by the first worker that asks (_once)


def _second_needs_another_run(items) -> None:
    """The second worker starts on the longest module that needs none of the first module's shared runs: it then
    makes the other shared run meanwhile instead of waiting for the first worker's."""
    modules: dict[str, set[str]] = {}
    for item in items:
        modules.setdefault(_module(item), set()).update(set(item.fixturenames) & set(SHARED_RUNS))
    order = list(modules)
    if len(order) < 3 or not modules[order[0]] or not modules[order[0]] & modules[order[1]]:
        return
    other = next((m for m in order[2:] if modules[m] and not modules[m] & modules[order[0]]), None)
    if other is not None:
        rank = {m: i for i, m in enumerate([order[0], other, *(m for m in order[1:] if m != other)])}
        items.sort(key=lambda item: rank[_module(item)])


_measured: dict[str, float] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """With FAIRSHARE_TEST_COMMANDS=<file> (tests/zygote.py logs each command there): each test's own CPU seconds
    (setup, call and teardown in this worker) and its other children's (processes it started itself), so the file
    says where the suite's CPU goes."""
    log = os.environ.get(zygote.COMMAND_LOG)
    if not log:
        yield
        return
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    yield
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    own, children = (
        a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before, strict=True)
    )
    with open(log, "a") as out:
        out.write(
            json.dumps({"test": item.nodeid, "self": round(own, 2), "children": round(children, 2)}) + "\n"
        )


def pytest_runtest_logreport(report):
    """Each phase's seconds, per module (on the controller, which sees every worker's reports)."""
    module = report.nodeid.split("::", 1)[0]
    _measured[module] = _measured.get(module, 0.0) + report.duration


def pytest_sessionfinish(session):
    if session.config.getoption("store_durations") and not hasattr(session.config, "workerinput"):
        # A partial run updates its modules' figures; a module that no longer exists is dropped.
        stored = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
        stored.update({m: round(t, 1) for m, t in _measured.items()})
        kept = {m: t for m, t in sorted(stored.items()) if (ROOT / m).exists()}
        DURATIONS.write_text(json.dumps(kept, indent=1) + "\n")


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture
def landing(tmp_path):
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse" / "fairshare.duckdb"


@pytest.fixture(scope="session", autouse=True)
def _no_settle_wait():
    """Runs read files at once (FAIRSHARE_SETTLE_SECONDS=0): a test's landing files are written just before its
    run, so each run would otherwise wait out the settle interval (3 s) for files nothing writes any more. The tests
    of files still being written set their interval themselves.

    Runs leave out the meeting pack's PDF (FAIRSHARE_PDF=nee: 3-4 s of CPU each) unless a test reads it: the
    session's sample run and the two regions' runs make theirs, which tests/test_board_print.py reads."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAIRSHARE_SETTLE_SECONDS", "0")
        patch.setenv("FAIRSHARE_PDF", "nee")
        yield


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.getLogger("fairshare").setLevel(logging.ERROR)


# `fairshare run` records its run in DAGSTER_HOME, else in data/dagster_home (orchestration/run.py): no test may
# write the repository's. The session's fixtures (and a module's) get the session's instance, each test its own:
# a copy of one made per worker (a new instance's storage takes ~4 s to create, a copy of it 10 ms). Dagster's
# SQLite storage commits every event on its own (a few hundred per run): on a RAM disk where there is one, a
# run's events cost half the seconds they cost on a loaded disk.
@pytest.fixture(scope="session", autouse=True)
def _dagster_template(tmp_path_factory):
    from orchestration.run import instance_home, open_instance

    ram = _RAM.is_dir() and os.access(_RAM, os.W_OK)
    root = (
        Path(tempfile.mkdtemp(prefix="fairshare-dagster-", dir=_RAM))
        if ram
        else tmp_path_factory.mktemp("dh")
    )
    template = instance_home({"DAGSTER_HOME": str(root / "template")})
    with open_instance(template) as instance:
        instance.get_runs(limit=1)  # creates its storage
    shutil.copytree(template, root / "session")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DAGSTER_HOME", str(root / "session"))
            patch.setenv(zygote.IN_MEMORY, str(root / "session"))  # no test reads the session's record
            yield template
    finally:
        if ram:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _dagster_home(request, monkeypatch, _dagster_template):
    home = Path(tempfile.mkdtemp(prefix="test-", dir=_dagster_template.parent))
    shutil.copytree(_dagster_template, home, dirs_exist_ok=True)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # A test that reads what its commands record marks itself `dagster_instance`; the others' fairshare commands
    # record in memory (tests/zygote.py, IN_MEMORY).
    if request.node.get_closest_marker("dagster_instance"):
        monkeypatch.delenv(zygote.IN_MEMORY, raising=False)
    else:
        monkeypatch.setenv(zygote.IN_MEMORY, str(home))
    yield
    shutil.rmtree(home, ignore_errors=True)


def _once(tmp_path_factory, worker_id: str, name: str, make):
    """``make(folder)`` once per test session, for every xdist worker: its JSON-able result is kept beside the folder.

    The first worker to ask holds an exclusive lock while it makes the folder; a worker asking meanwhile waits
    for it (the result is the same real run either way, made once instead of once per worker). Without xdist the
    folder is this session's own."""
    if worker_id == "master":
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent  # the session's folder, above every worker's own
    folder, done = shared / name, shared / f"{name}.json"
    with open(shared / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed halfway left it
            folder.mkdir()
            done.write_text(json.dumps(make(folder)))
    return json.loads(done.read_text())


def _completed(args: list[str], code: int, out: str, err: str) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory, worker_id):
    """`fairshare sample` then `fairshare run --demo`, as a new user would (once per session: see ``_once``)."""

    def make(base: Path) -> dict:
        summary = write_sample(base / "landing")
        with pytest.MonkeyPatch.context() as patch:  # the whole product, as `make run` makes it: with its PDF
            patch.delenv("FAIRSHARE_PDF")
            result = demo_run(base / "landing", base / "warehouse" / "fairshare.duckdb", base / "reports")
        return {
            "base": str(base),
            "files": [str(f) for f in summary.files],
            "rows": summary.rows,
            "bad_rows": summary.bad_rows,
            "run": [result.args, result.returncode, result.stdout, result.stderr],
        }

    made = _once(tmp_path_factory, worker_id, "sample", make)
    base = Path(made["base"])
    summary = SampleSummary(
        out=base / "landing",
        files=[Path(f) for f in made["files"]],
        rows=made["rows"],
        bad_rows=made["bad_rows"],
    )
    return summary, base / "landing", base / "warehouse" / "fairshare.duckdb", _completed(*made["run"])


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def two_regions(tmp_path_factory, worker_id):
    """Both regions from their samples, run at the same time as two `fairshare run` processes (once per session).

    Returns (base, {regio: (exit code, stdout, stderr)}, digests of the landing folders before the runs, digest
    of regions/ before them). test_regions.py checks the runs themselves; the province's tests
    (test_province_hostile.py) read their published copies; every test only reads their folders (a test's own
    output goes elsewhere). regions/ is digested and run under the shared regions lock: no test adds a pack
    meanwhile."""

    def make(base: Path) -> dict:
        fairshare = str(Path(sys.executable).parent / "fairshare")
        # Both regions' runs record in one Dagster instance at once, as two `fairshare run`s of a server do.
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRSHARE_")}
        env["DAGSTER_HOME"] = str(base / "dagster_home")
        for regio in ("amersfoort", "voorbeeld"):
            zygote.run(
                [fairshare, "sample", "--regio", regio, "--out", str(base / regio / "landing")],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
        before = {r: _digest(base / r / "landing") for r in ("amersfoort", "voorbeeld")}
        with regions_lock(exclusive=False):  # no test adds a pack while the packs are digested and run
            packs = _digest(ROOT / "regions")
            runs = {
                r: zygote.popen(
                    [
                        fairshare,
                        "run",
                        "--regio",
                        r,
                        "--demo",
                        "--landing",
                        str(base / r / "landing"),
                        "--warehouse",
                        str(base / r / "warehouse" / "fairshare.duckdb"),
                        "--reports",
                        str(base / r / "reports"),
                    ],
                    env=env,
                    cwd=base,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for r in ("amersfoort", "voorbeeld")
            }
            results = {r: (p.wait(timeout=1500), *p.communicate()) for r, p in runs.items()}
        return {"base": str(base), "results": results, "before": before, "packs": packs}

    made = _once(tmp_path_factory, worker_id, "regios", make)
    results = {r: tuple(v) for r, v in made["results"].items()}
    return Path(made["base"]), results, made["before"], made["packs"]
