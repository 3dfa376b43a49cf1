"""Issue 5: the published copy and PostgreSQL serve readers without ever blocking or breaking the pipeline."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests import zygote
from tests.helpers import postgres_cluster, run_command, sample_built
from warehouse.publish import READER_ROLE, publish_duckdb, publish_postgres

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample(sample_run):
    _, landing, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    return landing, warehouse, warehouse.parent.parent / "serving" / "fairshare.duckdb"


def _counts(path: Path, schema: str = "marts") -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [schema]
            ).fetchall()
        ]
        return {t: conn.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()[0] for t in tables}


def test_published_copy_holds_every_mart_and_the_reference_tables(sample):
    _, warehouse, served = sample
    assert served.exists()
    assert _counts(served) == _counts(warehouse) and len(_counts(served)) == 15
    assert set(_counts(served, "referentie")) >= {"gemeenten", "opgaven", "huurgrenzen", "inwoners"}
    with duckdb.connect(str(served), read_only=True) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name IN "
                "('raw', 'audit', 'staging', 'intermediate')"
            ).fetchone()[0]
            == 0
        )
        assert conn.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'fair_share'").fetchone()[
            0
        ]


@pytest.fixture(scope="module")
def duckdb_15(tmp_path_factory):
    """A throwaway environment with DuckDB 1.5.x, the version the Metabase driver embeds."""
    env = tmp_path_factory.mktemp("duckdb15") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    subprocess.run([str(env / "bin" / "pip"), "install", "--quiet", "duckdb==1.5.6"], check=True, timeout=600)
    return env / "bin" / "python"


def test_duckdb_15_reads_every_mart_even_after_a_rename(sample, duckdb_15, tmp_path):
    _, warehouse, served = sample
    renamed = tmp_path / "kopie voor metabase.duckdb"
    shutil.copy(served, renamed)
    script = (
        "import duckdb, json, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "assert duckdb.__version__.startswith('1.5'), duckdb.__version__; "
        "t = [r[0] for r in c.execute(\"select table_name from duckdb_tables() where schema_name='marts'\").fetchall()]; "
        "print(json.dumps({x: c.execute(f'select count(*) from marts.{x}').fetchone()[0] for x in t})); "
        "assert c.execute('select count(*) from info.tabellen').fetchone()[0] > 0"
    )
    result = subprocess.run(
        [str(duckdb_15), "-c", script, str(renamed)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    import json

    assert json.loads(result.stdout) == _counts(warehouse)


def test_open_reader_keeps_its_view_and_does_not_block_publishing(sample, tmp_path):
    _, warehouse, _ = sample
    changed = tmp_path / "changed.duckdb"
    shutil.copy(warehouse, changed)
    with duckdb.connect(str(changed)) as conn:
        conn.execute("DELETE FROM marts.fair_share_gemeente WHERE jaar < 2025")
    target = tmp_path / "serving" / "fairshare.duckdb"
    publish_duckdb(warehouse, target)
    before = _counts(warehouse)["fair_share_gemeente"]
    reader = duckdb.connect(str(target), read_only=True)
    try:
        assert reader.execute("SELECT count(*) FROM marts.fair_share_gemeente").fetchone()[0] == before
        started = time.perf_counter()
        publish_duckdb(changed, target)  # must not wait for the reader
        assert time.perf_counter() - started < 30
        assert reader.execute("SELECT count(*) FROM marts.fair_share_gemeente").fetchone()[0] == before
        assert (
            reader.execute("SELECT count(*) FROM marts.fair_share").fetchone()[0]
            == _counts(warehouse)["fair_share"]
        )
    finally:
        reader.close()
    assert _counts(target)["fair_share_gemeente"] < before
    assert not list(target.parent.glob(".*.tmp"))


def test_reader_holding_the_published_file_does_not_block_a_pipeline_run(sample_run, tmp_path):
    warehouse = sample_built(sample_run, tmp_path)  # a complete build, as the run of the sample left it
    serving = tmp_path / "serving" / "fairshare.duckdb"
    run = run_command(tmp_path / "landing", warehouse, tmp_path / "reports")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], "
            "read_only=True); c.execute('select count(*) from marts.fair_share').fetchall(); "
            "print('open', flush=True); time.sleep(600)",
            str(serving),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        result = zygote.run(run, capture_output=True, text=True, cwd=ROOT, timeout=900)
        assert result.returncode == 0, result.stderr[-2000:]
        # Nothing new: every target holds the build, and the summary still says where the copy is.
        assert "Nothing to publish: every target is current (read-only copy)" in result.stdout
        assert f"Read-only copy for readers: {serving.resolve()}" in result.stdout
    finally:
        holder.kill()


# ---- PostgreSQL -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    """A private PostgreSQL cluster on a free loopback port (tests/helpers.py), stopped and removed afterwards."""
    with postgres_cluster() as (dsn, port, _):
        yield dsn, port


def test_postgres_publication_and_a_read_only_role(sample, postgres):
    _, warehouse, _ = sample
    dsn, port = postgres
    published = publish_postgres(warehouse, dsn, reader_password="alleen-lezen")
    assert {k.split(".")[1]: v for k, v in published.tables.items() if k.startswith("marts.")} == _counts(
        warehouse
    )
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("CREATE TABLE public.geheim (x int)")
        admin.execute("INSERT INTO public.geheim VALUES (1)")
    reader_dsn = f"postgresql://{READER_ROLE}:alleen-lezen@127.0.0.1:{port}/postgres"
    with psycopg.connect(reader_dsn, autocommit=True) as reader:
        assert (
            reader.execute("SELECT count(*) FROM marts.fair_share").fetchone()[0]
            == _counts(warehouse)["fair_share"]
        )
        assert reader.execute("SELECT count(*) FROM referentie.gemeenten").fetchone()[0] == 9
        for statement in (
            "INSERT INTO marts.ingroeipad (jaar) VALUES (2099)",
            "UPDATE marts.ingroeipad SET jaar = 1",
            "DELETE FROM marts.ingroeipad",
            "CREATE TABLE marts.eigen (x int)",
            "CREATE TABLE public.eigen (x int)",
            "SELECT * FROM public.geheim",
            "DROP TABLE marts.fair_share",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(statement)


def test_second_publication_leaves_an_open_reader_consistent(sample, postgres, tmp_path):
    _, warehouse, _ = sample
    dsn, _ = postgres
    publish_postgres(warehouse, dsn)
    changed = tmp_path / "changed.duckdb"
    shutil.copy(warehouse, changed)
    with duckdb.connect(str(changed)) as conn:
        conn.execute("DELETE FROM marts.fair_share WHERE jaar < 2025")
        conn.execute("DELETE FROM marts.fair_share_gemeente WHERE jaar < 2025")
    full = _counts(warehouse)
    with psycopg.connect(dsn) as reader:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        assert reader.execute("SELECT count(*) FROM marts.fair_share").fetchone()[0] == full["fair_share"]
        done = threading.Event()
        worker = threading.Thread(target=lambda: (publish_postgres(changed, dsn), done.set()))
        worker.start()
        assert done.wait(60), "publication waited for the open reader"
        # Still the old, consistent view: both tables as before the second publication.
        assert reader.execute("SELECT count(*) FROM marts.fair_share").fetchone()[0] == full["fair_share"]
        assert (
            reader.execute("SELECT count(*) FROM marts.fair_share_gemeente").fetchone()[0]
            == full["fair_share_gemeente"]
        )
        reader.rollback()
        assert reader.execute("SELECT count(*) FROM marts.fair_share").fetchone()[0] < full["fair_share"]
    worker.join()


def test_every_published_column_is_described(sample, postgres):
    """info.kolommen in the published copy and COMMENT ON in PostgreSQL: marts, reference tables, history."""
    _, warehouse, served = sample
    with duckdb.connect(str(served), read_only=True) as conn:
        rows = conn.execute(
            "SELECT schema_name, table_name, column_name, comment FROM info.kolommen"
        ).fetchall()
    assert {s for s, *_ in rows} == {"marts", "referentie", "historie", "onderbouwing"}
    assert len(rows) > 150
    assert [r for r in rows if not r[3]] == []
    dsn, _ = postgres
    publish_postgres(warehouse, dsn)
    with psycopg.connect(dsn) as pg:
        missing = pg.execute("""
            SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns AS c
            WHERE c.table_schema IN ('marts', 'referentie', 'historie')
              AND col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position) IS NULL
        """).fetchall()
        described = pg.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'marts'"
        ).fetchone()
        table = pg.execute("SELECT obj_description('marts.fair_share'::regclass)").fetchone()[0]
    assert missing == [] and described[0] > 100 and table
