"""Issue 20: a publication that knows what it holds, a PostgreSQL publication that cannot fail silently, and a
copy that never goes back in time — on a real PostgreSQL server, with real `fairshare` runs.

One installation (the sample's complete build, copied) lives through one day in order: a DSN is set for a
PostgreSQL user without the privileges (exit 2, nothing read), an administrator runs `fairshare postgres init`,
the next run publishes there, a run after it has nothing to publish, a board run for April leaves both targets
at November (their historie updated), a run with `--als-huidig` is killed in PostgreSQL midway (exit 3, the
November publication whole, the copy at April), after which PostgreSQL is behind, so the next run
publishes again.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from basics.settings import Settings
from tests.helpers import postgres_cluster, query, sample_built
from tests.test_operation import fairshare, run_args
from warehouse import builds, publish, store

pytestmark = pytest.mark.slow

USER = "fairshare_pijplijn"
NOVEMBER, APRIL = "2026-11-01", "2026-04-01"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pg_state(dsn: str) -> dict:
    """What PostgreSQL serves: info.publicatie and a digest of every published table's rows."""
    with psycopg.connect(dsn) as pg:
        info = pg.execute("SELECT peildatum::text, bouw, vingerafdruk, regio FROM info.publicatie").fetchall()
        tables = pg.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN "
            "('marts', 'referentie', 'historie') ORDER BY 1, 2"
        ).fetchall()
        rows = {
            f"{s}.{t}": pg.execute(
                f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"{s}\".\"{t}\" AS x"
            ).fetchone()
            for s, t in tables
        }
    return {"info": info, "rows": rows}


def _marts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        names = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'"
            ).fetchall()
        ]
        return {t: conn.execute(f"SELECT count(*) FROM marts.{t}").fetchone()[0] for t in names}


def _summary(result: subprocess.CompletedProcess) -> str:
    return result.stdout.split("Summary", 1)[1]


@pytest.fixture(scope="module")
def day(sample_run, tmp_path_factory):
    """The day's runs, in order; each step's result and the state of both targets after it."""
    base = tmp_path_factory.mktemp("publicatie")
    warehouse = sample_built(sample_run, base)
    serving = base / "serving" / "fairshare.duckdb"
    seen: dict = {"base": base, "warehouse": warehouse, "serving": serving}
    with postgres_cluster() as (admin, port, _):
        with psycopg.connect(admin, autocommit=True) as pg:
            pg.execute(f"CREATE ROLE {USER} LOGIN")  # nothing else: what the README says is all it needs
        dsn = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        seen["admin"], seen["dsn"] = admin, dsn
        env = {"FAIRSHARE_PUBLISH_POSTGRES_DSN": dsn}

        # 1. The DSN set on an existing installation, for a user without the privileges: exit 2 before reading.
        before = {p: _sha(p) for p in (warehouse, serving)}
        reports = sorted((base / "reports").rglob("*"))
        seen["refused"] = fairshare(*run_args(base), env=env)
        seen["untouched"] = {p: _sha(p) for p in (warehouse, serving)} == before and sorted(
            (base / "reports").rglob("*")
        ) == reports
        with psycopg.connect(admin) as pg:
            seen["schemas after refusal"] = pg.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname IN ('marts', 'info')"
            ).fetchall()

        # 2. An administrator runs init once; the next run (nothing new in the landing folder) publishes there.
        seen["init"] = fairshare("postgres", "init", "--admin-dsn", admin, env=env)
        seen["published"] = fairshare(*run_args(base), env=env)
        seen["pg after publish"] = _pg_state(admin)
        seen["copy after publish"] = publish.holds(serving)
        seen["copy marts after publish"] = _marts(serving)
        seen["build after publish"] = query(
            warehouse, "SELECT bouw_nr, vingerafdruk FROM audit.bouw ORDER BY bouw_nr DESC LIMIT 1"
        )[0]

        # 3. Nothing new and every target current: the run says there is nothing to publish.
        seen["current"] = fairshare(*run_args(base), env=env)

        # 4. A board run for an older peildatum: built and reported, historie updated, publications kept.
        seen["older"] = fairshare(*run_args(base, None, "--peildatum", APRIL), env=env)
        seen["copy after older"] = publish.holds(serving)
        seen["pg after older"] = _pg_state(admin)
        with duckdb.connect(str(serving), read_only=True) as conn:
            seen["copy historie"] = conn.execute(
                "SELECT DISTINCT rapport_peildatum::text FROM historie.fair_share_gemeente ORDER BY 1"
            ).fetchall()
        seen["warehouse peildatum after older"] = query(
            warehouse, "SELECT peildatum::text FROM info.peildatum"
        )

        # 5. --als-huidig, its PostgreSQL connection killed midway: the previous publication stays whole.
        pause = base / "pause"
        pause.mkdir()
        run = fairshare(
            *run_args(base, None, "--peildatum", APRIL, "--als-huidig"),
            env={**env, "FAIRSHARE_PAUSE_AT": "postgres", "FAIRSHARE_PAUSE_DIR": str(pause)},
            popen=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 600
        while (
            not (pause / "postgres.reached").exists() and run.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        seen["reached"] = (pause / "postgres.reached").exists()
        seen["pg while half written"] = _pg_state(admin)  # a reader meanwhile: the November publication
        with psycopg.connect(admin, autocommit=True) as pg:
            seen["killed"] = pg.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'fairshare'"
            ).fetchone()[0]
        (pause / "postgres.continue").touch()
        out, err = run.communicate(timeout=600)
        seen["failed"] = subprocess.CompletedProcess(run.args, run.returncode, out, err)
        seen["pg after failure"] = _pg_state(admin)
        seen["copy after failure"] = publish.holds(serving)

        # 6. The next run would find PostgreSQL behind and publish again (asked in-process: a run costs ~50 s).
        settings = Settings.from_env(
            {"FAIRSHARE_PUBLISH_POSTGRES_DSN": dsn},
            landing=base / "landing",
            warehouse=warehouse,
            reports=base / "reports",
            peildatum=APRIL,
            als_huidig=True,
            demo=True,
        )
        with store.connect(warehouse, read_only=True) as conn:
            seen["next run builds"] = not builds.up_to_date(conn, settings)[0]
            seen["copy current"] = builds.target_current(
                publish.holds(serving), builds.fingerprint(conn, settings), settings
            )
        yield seen


def test_a_user_without_the_privilege_stops_with_exit_2_before_anything_is_read(day):
    refused = day["refused"]
    assert refused.returncode == 2, refused.stderr[-3000:]
    [line] = refused.stderr.strip().splitlines()
    assert line == (
        f"fairshare: the reader role provincie_lezer does not exist in 127.0.0.1:"
        f"{day['dsn'].rsplit(':', 1)[1].split('/')[0]}/postgres and the PostgreSQL user {USER} may not create it "
        "(it lacks CREATEROLE): have an administrator run `fairshare postgres init --admin-dsn DSN` once "
        "(README, PostgreSQL publication)"
    )
    assert refused.stdout == ""
    assert day["untouched"] and day["schemas after refusal"] == []


def test_postgres_init_then_the_dsn_on_an_existing_installation_publishes_on_the_next_run(day):
    init = day["init"]
    assert init.returncode == 0, init.stderr[-3000:]
    assert f"{USER} may publish" in init.stdout and "created schema marts" in init.stdout
    published = day["published"]
    assert published.returncode == 0, published.stderr[-3000:]
    summary = _summary(published)
    assert "Published for readers (read-only copy)" in summary
    assert (
        f"Published to PostgreSQL 127.0.0.1:{day['dsn'].rsplit(':', 1)[1]}: it holds peildatum 1 november 2026"
        in summary
    )
    bouw, vingerafdruk = day["build after publish"]
    assert day["pg after publish"]["info"] == [(NOVEMBER, bouw, vingerafdruk, "amersfoort")]
    held = day["copy after publish"]
    assert (str(held["peildatum"]), held["bouw"], held["vingerafdruk"], held["regio"]) == (
        NOVEMBER,
        bouw,
        vingerafdruk,
        "amersfoort",
    )
    served = {
        k.split(".", 1)[1]: v[0] for k, v in day["pg after publish"]["rows"].items() if k.startswith("marts.")
    }
    assert served == day["copy marts after publish"] and len(served) == 15


def test_a_run_with_every_target_current_says_it_publishes_nothing(day):
    current = day["current"]
    assert current.returncode == 0, current.stderr[-3000:]
    summary = _summary(current)
    assert "Nothing to publish: every target is current (read-only copy, PostgreSQL 127.0.0.1:" in summary
    assert "Published" not in summary


def test_an_older_board_run_keeps_the_newer_publication_and_updates_historie(day):
    older = day["older"]
    assert older.returncode == 0, older.stderr[-3000:]
    summary = _summary(older)
    assert "peildatum 1 april 2026" in summary  # built and reported for April
    assert (day["base"] / "reports" / "bo_wonen_zorg_2026-05.html").exists()
    assert day["warehouse peildatum after older"] == [(APRIL,)]
    assert "Not published as current (read-only copy)" in summary
    assert "it keeps peildatum 1 november 2026" in summary and "--als-huidig" in summary
    assert "Published" not in summary and "OLDER" not in older.stdout + older.stderr
    assert str(day["copy after older"]["peildatum"]) == NOVEMBER
    assert day["copy after older"]["bouw"] == day["copy after publish"]["bouw"]
    assert day["pg after older"]["info"] == day["pg after publish"]["info"]
    assert day["copy historie"] == [(APRIL,), (NOVEMBER,)]
    marts = {k: v for k, v in day["pg after older"]["rows"].items() if not k.startswith("historie.")}
    assert marts == {
        k: v for k, v in day["pg after publish"]["rows"].items() if not k.startswith("historie.")
    }
    assert day["pg after older"]["rows"] != day["pg after publish"]["rows"]  # its historie has April now


def test_a_publication_killed_midway_leaves_the_previous_one_whole_and_exits_3(day):
    assert day["reached"] and day["killed"] == 1
    failed = day["failed"]
    assert failed.returncode == 3, failed.stderr[-3000:]
    summary = _summary(failed)
    assert "PostgreSQL 127.0.0.1:" in summary and ": NOT published (" in summary
    assert "it still holds peildatum 1 november 2026" in summary and "the next run publishes again" in summary
    assert "Published to PostgreSQL" not in summary
    assert "publicatie" in failed.stderr.strip().splitlines()[-1]
    # Half written, a reader saw the November publication; after the failure it is still there, whole.
    assert day["pg while half written"] == day["pg after older"] == day["pg after failure"]
    assert (
        str(day["copy after failure"]["peildatum"]) == APRIL
    )  # the copy was published before PostgreSQL failed


def test_after_a_failed_publication_postgres_is_behind_so_the_next_run_publishes_again(day):
    assert str(day["copy after failure"]["peildatum"]) == APRIL  # --als-huidig moved the copy to April
    assert day["copy current"] and day["next run builds"]  # the copy holds the build, PostgreSQL does not
