"""Issue 18: the province reads data, never code; and the PostgreSQL reader role is locked down.

A region's published copy is a DuckDB file the province did not write: whoever can write it could put
views or macros in it that read the province host's files. Each hostile copy here is made by code from a
real published copy (real `fairshare run`s of two regions); the province is run as a real process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests import zygote
from tests.helpers import clean_env, postgres_cluster, regions_lock
from warehouse.publish import READER_ROLE

FAIRSHARE = str(Path(sys.executable).parent / "fairshare")
# Fake personal data on the province host: what a hostile copy would try to read.
BSN, NAAM, GEBOORTE = "123456782", "Jan Jansen", "1980-01-01"


@pytest.fixture(scope="module", autouse=True)
def _packs_stay_put():
    """Every pack in regions/ is listed here: no other worker adds one meanwhile (tests/conftest.py)."""
    with regions_lock(exclusive=False):
        yield


def _clean_env() -> dict[str, str]:
    return clean_env()  # DAGSTER_HOME: conftest's


@pytest.fixture(scope="module")
def copies(two_regions, tmp_path_factory):
    """Published copies of two regions (peildatum 1 November 2026), and one of `voorbeeld` at 1 April 2026.

    The two regions' copies are those of the session's two side-by-side runs of their samples (two_regions,
    tests/conftest.py: only read here; a hostile copy is made from a copy of them); the April copy is one more
    real `fairshare run` over the `voorbeeld` sample, into this module's own folder.
    """
    regios, results, _, _ = two_regions
    for regio, (code, out, err) in results.items():
        assert code == 0, (regio, out[-2000:], err[-2000:])
    base = tmp_path_factory.mktemp("kopieen")
    env = _clean_env()
    april = zygote.run(
        [
            FAIRSHARE,
            "run",
            "--regio",
            "voorbeeld",
            "--demo",
            "-q",
            "--landing",
            str(regios / "voorbeeld" / "landing"),
            "--warehouse",
            str(base / "voorbeeld-april" / "warehouse" / "fairshare.duckdb"),
            "--reports",
            str(base / "voorbeeld-april" / "reports"),
            "--peildatum",
            "2026-04-01",
        ],
        env=env,
        cwd=base,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert april.returncode == 0, (april.stdout[-2000:], april.stderr[-2000:])
    # A file of another region's register on the province host: names, BSNs, dates of birth.
    secret = base / "elders" / "urgentie"
    secret.mkdir(parents=True)
    (secret / "register.csv").write_text(
        f"Naam;BSN;Geboortedatum\n{NAAM};{BSN};{GEBOORTE}\n", encoding="utf-8"
    )
    (secret / f"aanvraag_{NAAM.replace(' ', '_')}_{BSN}.pdf").write_bytes(b"%PDF-1.4\n")
    return base, {
        "amersfoort": regios / "amersfoort" / "serving" / "fairshare.duckdb",
        "voorbeeld": regios / "voorbeeld" / "serving" / "fairshare.duckdb",
        "voorbeeld-april": base / "voorbeeld-april" / "serving" / "fairshare.duckdb",
    }


@pytest.fixture(scope="module")
def postgres():
    """A private PostgreSQL cluster that authenticates every role but the admin with SCRAM over TCP, and logs
    every statement (and pg_stat_statements), so a password sent in clear would be seen."""
    hba = (
        "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    )
    options = (
        "-c log_statement=all -c shared_preload_libraries=pg_stat_statements "
        "-c password_encryption=scram-sha-256"
    )
    with postgres_cluster("fairshare-pg-scram-", hba=hba, options=options) as (admin, port, log):
        with psycopg.connect(admin, autocommit=True) as pg:
            pg.execute("CREATE EXTENSION pg_stat_statements")
        yield admin, port, log


def _database(postgres, name: str) -> str:
    """A fresh database of the cluster (a test's own), as the admin's DSN."""
    admin, port, _ = postgres
    with psycopg.connect(admin, autocommit=True) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        pg.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


def _province(out: Path, sources: dict[str, Path], dsn: str | None = None, password: str = "lezen"):
    env = _clean_env()
    if dsn:
        env |= {"FAIRSHARE_PUBLISH_POSTGRES_DSN": dsn, "FAIRSHARE_POSTGRES_READER_PASSWORD": password}
    return zygote.run(  # --met-fictief: the example region `voorbeeld` is fictional, left out by default
        [FAIRSHARE, "provincie", "--met-fictief", "--out", str(out)]
        + [a for r, p in sources.items() for a in ("--serving", f"{r}={p}")],
        env=env,
        capture_output=True,
        text=True,
        cwd=out.parent,
        timeout=300,
    )


def _tables(province: Path) -> dict[str, list]:
    """Every table of schema provincie, rows sorted; `publicatie` only holds the time of this publication."""
    with duckdb.connect(str(province), read_only=True) as conn:
        names = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'provincie' "
                "AND table_name <> 'publicatie' ORDER BY 1"
            ).fetchall()
        ]
        return {t: sorted(conn.execute(f"SELECT * FROM provincie.{t}").fetchall(), key=repr) for t in names}


def _healthy(copies) -> dict[str, Path]:
    _, paths = copies
    return {"amersfoort": paths["amersfoort"], "voorbeeld": paths["voorbeeld"]}


@pytest.fixture(scope="module")
def undisturbed(copies):
    """The province of the two healthy copies, run once in a folder of its own."""
    base, _ = copies
    result = _province(base / "ongestoord", _healthy(copies))
    assert result.returncode == 0, result.stderr[-3000:]
    return _tables(base / "ongestoord" / "fairshare_provincie.duckdb"), result


# ---- hostile copies: each made from a real published copy ------------------------------------------------------


def _read_text_view(conn: duckdb.DuckDBPyConnection, secret: Path) -> None:
    """The issue's case: `referentie.regio` a view over read_text of another region's raw register."""
    conn.execute("DROP TABLE referentie.regio")
    conn.execute(
        "CREATE VIEW referentie.regio AS SELECT 'voorbeeld' AS regio_code, content AS regio_naam, "
        "'Utrecht' AS provincie, 'x' AS bestuur, 'SCV' AS samenwerkend_label, 40.0 AS max_aandeel_urgent_pct, "
        f"'x' AS bron FROM read_text('{secret / 'register.csv'}')"
    )


def _glob_view(conn: duckdb.DuckDBPyConnection, secret: Path) -> None:
    """A view listing the host's files (their names hold a name and a BSN)."""
    conn.execute("DROP TABLE referentie.regio")
    conn.execute(
        "CREATE VIEW referentie.regio AS SELECT 'voorbeeld' AS regio_code, string_agg(file, ' ') AS "
        "regio_naam, 'Utrecht' AS provincie, 'x' AS bestuur, 'SCV' AS samenwerkend_label, "
        f"40.0 AS max_aandeel_urgent_pct, 'x' AS bron FROM glob('{secret}/*')"
    )


def _macro(conn: duckdb.DuckDBPyConnection, secret: Path) -> None:
    """`info.publicatie` a table macro that reads the register when called."""
    conn.execute("DROP TABLE info.publicatie")
    conn.execute(
        "CREATE MACRO info.publicatie() AS TABLE SELECT DATE '2026-11-01' AS peildatum, "
        "DATE '2026-10-31' AS data_tot, now()::TIMESTAMP AS gepubliceerd_op, content AS x "
        f"FROM read_text('{secret / 'register.csv'}')"
    )


def _marts_view(conn: duckdb.DuckDBPyConnection, secret: Path) -> None:
    """A mart replaced by a view over the register (before: the province silently left the mart out)."""
    conn.execute("DROP TABLE marts.ingroeipad")
    conn.execute(
        f"CREATE VIEW marts.ingroeipad AS SELECT content AS groep FROM read_text('{secret / 'register.csv'}')"
    )


def _other_region(conn: duckdb.DuckDBPyConnection, secret: Path) -> None:
    """A copy that says it is another region's: its rows would be counted under the wrong regio_code."""
    conn.execute("UPDATE referentie.regio SET regio_code = 'amersfoort'")


def _wrong_types(conn: duckdb.DuckDBPyConnection, secret: Path) -> None:
    """`info.publicatie` with its peildatum as text: a stale check on text would compare strings."""
    conn.execute("ALTER TABLE info.publicatie ALTER peildatum TYPE VARCHAR")
    conn.execute("UPDATE info.publicatie SET peildatum = '9999-99-99'")


HOSTILE = {
    "read_text_view": (_read_text_view, "view referentie.regio"),
    "glob_view": (_glob_view, "view referentie.regio"),
    "macro": (_macro, "macro info.publicatie"),
    "marts_view": (_marts_view, "view marts.ingroeipad"),
    "other_region": (_other_region, "holds region 'amersfoort', not 'voorbeeld'"),
    "wrong_types": (_wrong_types, "lacks peildatum DATE in info.publicatie"),
}


def _hostile_copy(copies, case: str, folder: Path) -> Path:
    base, paths = copies
    target = folder / "kopie" / "fairshare.duckdb"
    target.parent.mkdir(parents=True)
    shutil.copy(paths["voorbeeld"], target)
    with duckdb.connect(str(target)) as conn:
        HOSTILE[case][0](conn, base / "elders" / "urgentie")
    return target


def _assert_leaks_nothing(*texts: str) -> None:
    for text in texts:
        assert (
            BSN not in text
            and NAAM not in text
            and NAAM.replace(" ", "_") not in text
            and GEBOORTE not in text
        )


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_copy_is_refused_naming_it_and_nothing_is_written(
    copies, undisturbed, postgres, tmp_path, case
):
    hostile = _hostile_copy(copies, case, tmp_path)
    out = tmp_path / "provincie"
    dsn = _database(postgres, f"h_{case}")
    result = _province(out, {**_healthy(copies), "voorbeeld": hostile}, dsn)
    assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-3000:])
    last = result.stderr.strip().splitlines()[-1]
    assert str(hostile) in last and "'voorbeeld'" in last and HOSTILE[case][1] in last, last
    assert "Traceback" not in result.stderr
    _assert_leaks_nothing(result.stdout, result.stderr)
    assert not out.exists() or list(out.iterdir()) == []  # no province file, no temporary file, no page
    with psycopg.connect(dsn) as pg:
        assert pg.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'provincie'").fetchone()[0] == 0

    # The next normal run over healthy copies gives the same tables as an undisturbed one ...
    again = _province(out, _healthy(copies), dsn)
    assert again.returncode == 0, again.stderr[-3000:]
    province = out / "fairshare_provincie.duckdb"
    assert _tables(province) == undisturbed[0]
    # ... and a hostile copy after it leaves that publication as it was.
    before = province.read_bytes()
    assert _province(out, {**_healthy(copies), "voorbeeld": hostile}, dsn).returncode == 2
    assert province.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["fairshare_provincie.duckdb", "provincie_overzicht.html"]
    _assert_leaks_nothing((out / "provincie_overzicht.html").read_text(encoding="utf-8"))


def test_a_file_that_is_no_duckdb_database_is_refused_naming_it(copies, tmp_path):
    bogus = tmp_path / "kopie.duckdb"
    bogus.write_text(f"{NAAM};{BSN}\n", encoding="utf-8")
    result = _province(tmp_path / "provincie", {**_healthy(copies), "voorbeeld": bogus})
    assert result.returncode == 2, result.stderr[-3000:]
    assert str(bogus) in result.stderr.strip().splitlines()[-1] and "Traceback" not in result.stderr
    _assert_leaks_nothing(result.stderr)
    assert not (tmp_path / "provincie" / "fairshare_provincie.duckdb").exists()


def test_the_province_connection_reads_no_file_but_the_copies_and_its_own_output(copies, tmp_path):
    """Defence in depth: even a view that the checks let through (in `info`, which the province does not read)
    could not read a file, because external access is off and locked before any copy is attached."""
    from warehouse.province import attach_copies

    base, paths = copies
    hostile = tmp_path / "kopie.duckdb"
    shutil.copy(paths["voorbeeld"], hostile)
    with duckdb.connect(str(hostile)) as conn:
        conn.execute(
            f"CREATE VIEW info.geheim AS SELECT content FROM read_text('{base / 'elders' / 'urgentie' / 'register.csv'}')"
        )
    with attach_copies({"voorbeeld": hostile}, tmp_path / "uit.duckdb") as (conn, aliases):
        conn.execute(f"ATTACH '{tmp_path / 'uit.duckdb'}' AS uit")  # its own output it may open
        with pytest.raises(duckdb.PermissionException):
            conn.execute(f"SELECT * FROM {aliases['voorbeeld']}.info.geheim").fetchall()
        with pytest.raises(duckdb.Error):
            conn.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            conn.execute(f"ATTACH '{paths['amersfoort']}' AS ander (READ_ONLY)")
        with pytest.raises(duckdb.PermissionException):
            conn.execute(
                f"SELECT * FROM read_text('{base / 'elders' / 'urgentie' / 'register.csv'}')"
            ).fetchall()
        conn.execute("CREATE TABLE uit.main.t AS SELECT 1 AS x")  # and write


# ---- a stale copy ----------------------------------------------------------------------------------------------


def test_a_stale_copy_is_flagged_on_the_console_in_the_overview_and_in_regios(copies, undisturbed, tmp_path):
    _, paths = copies
    out = tmp_path / "provincie"
    result = _province(out, {"amersfoort": paths["amersfoort"], "voorbeeld": paths["voorbeeld-april"]})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "region 'voorbeeld'" in result.stderr
        and "2026-04-01" in result.stderr
        and "2026-11-01" in result.stderr
    )
    province = out / "fairshare_provincie.duckdb"
    with duckdb.connect(str(province), read_only=True) as conn:
        assert conn.execute(
            "SELECT regio_code, peildatum::VARCHAR, verouderd FROM provincie.regios ORDER BY 1"
        ).fetchall() == [("amersfoort", "2026-11-01", False), ("voorbeeld", "2026-04-01", True)]
        assert conn.execute(
            "SELECT comment FROM duckdb_columns() WHERE schema_name = 'provincie' AND "
            "table_name = 'regios' AND column_name = 'verouderd'"
        ).fetchone()[0]
    page = (out / "provincie_overzicht.html").read_text(encoding="utf-8")
    assert 'id="verouderd"' in page and "Regio Voorbeeld" in page and "1 april 2026" in page
    # Healthy copies of the same peildatum: no warning anywhere.
    tables, healthy = undisturbed
    assert "verouderd" not in healthy.stderr and "stale" not in healthy.stderr
    assert [r[-1] for r in sorted(tables["regios"])] == [False, False]
    assert 'id="verouderd"' not in (copies[0] / "ongestoord" / "provincie_overzicht.html").read_text(
        encoding="utf-8"
    )


# ---- the PostgreSQL reader role ----------------------------------------------------------------------------------


def _scram_matches(secret: str, password: str) -> bool:
    """RFC 5802/7677: does the stored SCRAM-SHA-256 secret belong to ``password``?"""
    method, rest = secret.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return (
        method == "SCRAM-SHA-256"
        and hashlib.sha256(client_key).digest() == stored_key
        and hmac.new(salted, b"Server Key", "sha256").digest() == server_key
    )


def test_the_reader_logs_in_with_scram_reads_and_may_create_nothing(copies, undisturbed, postgres, tmp_path):
    admin, port, log = postgres
    dsn = _database(postgres, "lezer")
    password = "Geheim-lezer-wachtwoord-42"
    with psycopg.connect(dsn, autocommit=True) as pg:
        # As on a cluster upgraded from PostgreSQL 14: everyone may create in schema public.
        pg.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    with psycopg.connect(admin, autocommit=True) as pg:
        pg.execute("SELECT pg_stat_statements_reset()")
    result = _province(tmp_path / "provincie", _healthy(copies), dsn, password=password)
    assert result.returncode == 0, result.stderr[-3000:]

    reader = f"postgresql://{READER_ROLE}:{password}@127.0.0.1:{port}/lezer"
    with psycopg.connect(reader, autocommit=True) as pg:
        assert pg.execute("SELECT count(*) FROM provincie.regios").fetchone()[0] == 2
        for statement in (
            "CREATE TEMP TABLE eigen (x int)",
            "CREATE TABLE public.eigen (x int)",
            "CREATE SCHEMA eigen",
            "CREATE TABLE provincie.eigen (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute(statement)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"postgresql://{READER_ROLE}:fout@127.0.0.1:{port}/lezer").close()

    with psycopg.connect(admin) as pg:
        [(secret,)] = pg.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [READER_ROLE]
        ).fetchall()
        statements = [q for (q,) in pg.execute("SELECT query FROM pg_stat_statements").fetchall()]
    assert secret.startswith("SCRAM-SHA-256$4096:") and _scram_matches(secret, password)
    assert password not in log.read_text(encoding="utf-8", errors="replace")
    assert not any(password in q for q in statements)
    sent = [q for q in statements if q.upper().startswith("ALTER ROLE")]
    assert sent and all("SCRAM-SHA-256$" in q for q in sent)
    # The other roles of the database keep what the owner gives them; only PUBLIC's implicit TEMP is gone.
    with psycopg.connect(dsn) as pg:
        assert (
            pg.execute(
                "SELECT has_database_privilege(%s, current_database(), 'TEMP')", [READER_ROLE]
            ).fetchone()[0]
            is False
        )
        assert pg.execute("SELECT has_database_privilege('postgres', current_database(), 'TEMP')").fetchone()[
            0
        ]


def test_a_publisher_that_may_not_revoke_still_publishes_and_is_told_what_to_ask_the_owner(
    copies, postgres, tmp_path
):
    """A publishing user that is not the database's owner cannot take TEMP from PUBLIC: the publication that
    worked before still goes through, with one warning that names the SQL for the owner."""
    admin, port, _ = postgres
    dsn = _database(postgres, "niet_eigenaar")
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("DROP ROLE IF EXISTS uitgever")
        pg.execute("CREATE ROLE uitgever LOGIN PASSWORD 'uitgever-wachtwoord'")
        pg.execute("GRANT CREATE ON DATABASE niet_eigenaar TO uitgever")
        if not pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE]).fetchone():
            pg.execute(f"CREATE ROLE {READER_ROLE} NOLOGIN")
    publisher = f"postgresql://uitgever:uitgever-wachtwoord@127.0.0.1:{port}/niet_eigenaar"
    result = _province(tmp_path / "provincie", _healthy(copies), publisher, password="")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" in result.stderr and "REVOKE TEMPORARY, CREATE ON DATABASE" in result.stderr
    with psycopg.connect(dsn) as pg:
        assert pg.execute("SELECT count(*) FROM provincie.regios").fetchone()[0] == 2
