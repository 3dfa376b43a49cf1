"""Issue 22: what an analyst meets in PostgreSQL — the publication's metadata, each mart keyed on its grain, the
descriptions of the DuckDB copy — and the ten example questions of docs/vragen.sql, which give the same answer on
the published DuckDB copy and in PostgreSQL.

No run of its own: the session's sample run (its warehouse and published copy) is published into a private
PostgreSQL cluster once for the module, as tests/test_serving.py does.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from basics.manifest import marts
from tests.helpers import postgres_cluster, query
from warehouse.publish import READER_ROLE, holds, publish_postgres

ROOT = Path(__file__).resolve().parents[1]
VRAGEN = ROOT / "docs" / "vragen.sql"


@pytest.fixture(scope="module")
def published(sample_run):
    """The sample's warehouse published to a private PostgreSQL (with the build the copy holds): (warehouse,
    published copy, admin DSN, port)."""
    _, _, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    served = warehouse.parent.parent / "serving" / "fairshare.duckdb"
    build = tuple(
        query(warehouse, "SELECT bouw_nr, vingerafdruk FROM audit.bouw ORDER BY bouw_nr DESC LIMIT 1")[0]
    )
    with postgres_cluster() as (dsn, port, _):
        publish_postgres(warehouse, dsn, reader_password="alleen-lezen", build=build)
        yield warehouse, served, dsn, port, build


def test_postgres_says_what_it_holds_as_the_copy_does(published):
    _, served, dsn, port, build = published
    copy = holds(served)
    reader = f"postgresql://{READER_ROLE}:alleen-lezen@127.0.0.1:{port}/postgres"
    with psycopg.connect(reader) as pg:  # the reader role may read it: a dashboard shows the peildatum
        cursor = pg.execute("SELECT * FROM info.publicatie")
        rows = cursor.fetchall()
        names = [d.name for d in cursor.description]
        table = pg.execute("SELECT obj_description('info.publicatie'::regclass)").fetchone()[0]
        columns = dict(
            pg.execute(
                "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute AS a "
                "WHERE a.attrelid = 'info.publicatie'::regclass AND a.attnum > 0"
            ).fetchall()
        )
    assert len(rows) == 1
    held = dict(zip(names, rows[0], strict=True))
    assert (
        set(names)
        == set(copy)
        == {"peildatum", "data_tot", "gepubliceerd_op", "bouw", "vingerafdruk", "regio"}
    )
    for key in ("peildatum", "data_tot", "bouw", "vingerafdruk", "regio"):
        assert held[key] == copy[key], key
    assert (held["bouw"], held["vingerafdruk"]) == build and held["regio"] == "amersfoort"
    assert held["data_tot"] == held["peildatum"] - dt.timedelta(days=1)
    assert table and all(columns[n] for n in names)
    with duckdb.connect(str(served), read_only=True) as conn:
        assert (
            conn.execute(
                "SELECT comment FROM duckdb_tables() WHERE schema_name = 'info' AND table_name = 'publicatie'"
            ).fetchone()[0]
            == table
        )


def _keys(pg) -> dict[str, tuple[str, list[str]]]:
    """Per mart table: its primary key or unique constraint (type, columns in order)."""
    found = pg.execute(
        "SELECT c.relname, con.contype, array_agg(a.attname::text ORDER BY k.n) FROM pg_constraint AS con "
        "JOIN pg_class AS c ON c.oid = con.conrelid JOIN pg_namespace AS s ON s.oid = c.relnamespace "
        "JOIN unnest(con.conkey) WITH ORDINALITY AS k(attnum, n) ON true "
        "JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
        "WHERE s.nspname = 'marts' AND con.contype IN ('p', 'u') GROUP BY c.relname, con.contype"
    ).fetchall()
    return {t: (kind, cols) for t, kind, cols in found}


def test_every_mart_is_keyed_on_its_grain_and_refuses_a_duplicate(published):
    _, _, dsn, _, _ = published
    declared = marts()
    with psycopg.connect(dsn) as pg:
        keys = _keys(pg)
        assert set(keys) == {m.name for m in declared}
        for mart in declared:
            kind = "p" if set(mart.grain) <= mart.not_null else "u"
            assert keys[mart.name] == (kind, list(mart.grain)), mart.name
        assert keys["urgentie_toekenningen"][0] == "u"  # its subcategorie may be empty: no primary key
        assert keys["kerncijfers"] == ("p", ["niveau", "code", "jaar"])
        for mart in ("fair_share", "kerncijfers", "urgentie_toekenningen"):
            with pytest.raises(psycopg.errors.UniqueViolation):
                with pg.transaction():
                    pg.execute(f"INSERT INTO marts.{mart} SELECT * FROM marts.{mart} LIMIT 1")
        # an empty subcategory is one value: the same (commissie, jaar, categorie) without one twice is refused
        with pytest.raises(psycopg.errors.UniqueViolation):
            with pg.transaction():
                pg.execute(
                    "INSERT INTO marts.urgentie_toekenningen SELECT * FROM marts.urgentie_toekenningen "
                    "WHERE subcategorie IS NULL LIMIT 1"
                )


def test_a_publication_from_before_keys_gets_them_and_a_current_one_does_not_wait_for_readers(published):
    warehouse, _, dsn, _, build = published
    with psycopg.connect(dsn, autocommit=True) as admin:  # as PostgreSQL held it before this change
        admin.execute("ALTER TABLE marts.terugkeer DROP CONSTRAINT terugkeer_sleutel")
        assert "terugkeer" not in _keys(admin)
    publish_postgres(warehouse, dsn, build=build)
    with psycopg.connect(dsn) as pg:
        assert _keys(pg)["terugkeer"] == ("p", ["herkomst", "jaar"])
    with psycopg.connect(dsn) as reader:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        before = reader.execute("SELECT count(*) FROM marts.kerncijfers").fetchone()[0]
        done = threading.Event()
        worker = threading.Thread(target=lambda: (publish_postgres(warehouse, dsn, build=build), done.set()))
        worker.start()
        assert done.wait(60), "the publication waited for an open reader (it altered a table)"
        assert reader.execute("SELECT count(*) FROM marts.kerncijfers").fetchone()[0] == before
        reader.rollback()
    worker.join()


def test_postgres_comments_are_the_copy_s_descriptions(published):
    _, served, dsn, _, _ = published
    with duckdb.connect(str(served), read_only=True) as conn:
        copy = dict(
            conn.execute(
                "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts' "
                "AND table_name = 'kerncijfers'"
            ).fetchall()
        )
        table = conn.execute(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'kerncijfers'"
        ).fetchone()[0]
    with psycopg.connect(dsn) as pg:
        columns = dict(
            pg.execute(
                "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute AS a "
                "WHERE a.attrelid = 'marts.kerncijfers'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
            ).fetchall()
        )
        assert pg.execute("SELECT obj_description('marts.kerncijfers'::regclass)").fetchone()[0] == table
    assert columns == copy and len(copy) > 30 and all(copy.values())


# ---- the ten example questions (docs/vragen.sql) ----------------------------------------------------------


def vragen() -> list[tuple[str, str]]:
    """(title, SQL) of each question: a block that starts with `-- vraag N: ...`."""
    text = VRAGEN.read_text(encoding="utf-8")
    blocks = re.split(r"^(?=-- vraag \d+: )", text, flags=re.M)[1:]
    return [(b.splitlines()[0].removeprefix("-- "), b.strip().rstrip(";")) for b in blocks]


def test_the_file_holds_ten_documented_questions_and_the_readme_links_it():
    found = vragen()
    assert [t.split(":")[0] for t, _ in found] == [f"vraag {n}" for n in range(1, 11)]
    for title, sql in found:
        lines = sql.splitlines()
        comments = [line for line in lines[1:] if line.startswith("--")]
        assert len(comments) >= 2, f"{title}: say what it answers and how to read it"
        code = [line for line in lines if not line.startswith("--")]
        assert code and not any(";" in line for line in code), f"{title}: one statement"
    assert "(docs/vragen.sql)" in (ROOT / "README.md").read_text(encoding="utf-8")


def _same(value):
    """One value as both targets give it: every number as a float to six decimals (a sum is a HUGEINT in DuckDB,
    a numeric in PostgreSQL), the rest as is."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return round(float(value), 6)
    return value


def _rows(rows) -> list[tuple]:
    return sorted((tuple(_same(v) for v in r) for r in rows), key=repr)


@pytest.mark.parametrize(
    ("title", "sql"), vragen(), ids=[t.split(":")[0].replace(" ", "_") for t, _ in vragen()]
)
def test_each_question_answers_the_same_on_the_copy_and_in_postgres(published, title, sql):
    _, served, dsn, port, _ = published
    with duckdb.connect(str(served), read_only=True) as conn:
        cursor = conn.execute(sql)
        copy = cursor.fetchall()
        names = [d[0] for d in cursor.description]
    reader = f"postgresql://{READER_ROLE}:alleen-lezen@127.0.0.1:{port}/postgres"
    with psycopg.connect(reader) as pg:  # what the province's reader role runs
        cursor = pg.execute(sql)
        served_pg = cursor.fetchall()
        assert [d.name for d in cursor.description] == names
    assert copy, f"{title}: no rows on the DuckDB copy"
    if "gepubliceerd_op" in names:  # each target was published at its own moment: the rest is the same
        keep = [i for i, n in enumerate(names) if n != "gepubliceerd_op"]
        copy, served_pg = ([tuple(r[i] for i in keep) for r in rows] for rows in (copy, served_pg))
    assert _rows(served_pg) == _rows(copy), title
