"""sources.md §1 and §6: cumulative deliveries, reloading, configuration changes, atomic loads."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ingest.config import CONFIG_DIR, SEEDS_DIR, load_config
from tests.helpers import TOEWIJZINGEN_HEADER, load_all, query, toewijzing_row, write_csv, write_xlsx

ROOT = Path(__file__).resolve().parents[1]


def _state(warehouse):
    return (
        query(warehouse, "SELECT * EXCLUDE (_bestand_id) FROM raw.swev_toewijzingen ORDER BY ALL"),
        query(warehouse, "SELECT * EXCLUDE (bestand_id) FROM audit.quarantaine ORDER BY ALL"),
    )


def test_loading_twice_changes_nothing(landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1), toewijzing_row(2, kamers=0)],
    )
    first = load_all(landing, warehouse)
    before = _state(warehouse)
    second = load_all(landing, warehouse)
    assert [o.status for o in first] == ["geladen"] and [o.status for o in second] == ["ongewijzigd"]
    assert sum(o.rijen_gelezen for o in second) == 0
    assert _state(warehouse) == before
    assert query(warehouse, "SELECT status FROM audit.bestanden ORDER BY bestand_id") == [
        ("geladen",),
        ("ongewijzigd",),
    ]


def test_later_delivery_supersedes_earlier_row_and_keeps_absent_keys(landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1, huur=600.0), toewijzing_row(2, huur=610.0)],
    )
    write_csv(
        landing / "swev" / "toewijzingen_2025-11-03.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1, datum="01-03-2025", huur="655,00"), toewijzing_row(3, datum="01-10-2025")],
    )  # T0002 absent
    load_all(landing, warehouse)
    assert query(warehouse, "SELECT count(*) FROM raw.swev_toewijzingen") == [(4,)]  # every version kept
    assert query(
        warehouse,
        "SELECT toewijzing_id, netto_huur, _leverdatum FROM raw.swev_toewijzingen_actueel ORDER BY 1",
    ) == [
        ("T0001", 655.0, dt.date(2025, 11, 3)),
        ("T0002", 610.0, dt.date(2025, 4, 2)),
        ("T0003", 600.0, dt.date(2025, 11, 3)),
    ]


def test_latest_delivery_wins_by_file_date_not_load_order(landing, warehouse):
    write_csv(
        landing / "swev" / "toewijzingen_2025-11-03.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1, datum="01-03-2025", huur="655")],
    )
    load_all(landing, warehouse)
    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1, datum="01-03-2025", huur="600")],
    )
    load_all(landing, warehouse)  # the older extraction arrives later
    assert query(warehouse, "SELECT netto_huur FROM raw.swev_toewijzingen_actueel") == [(655.0,)]


def test_register_key_is_commissie_and_registratie_id(landing, warehouse):
    header = ["Registratienummer", "Aanvraagdatum", "Besluit"]
    write_csv(landing / "urgentie" / "baarn_2025-04-02.csv", header, [["R1", "01-03-2025", ""]])
    write_csv(landing / "urgentie" / "soest_2025-04-02.csv", header, [["R1", "02-03-2025", ""]])
    write_csv(landing / "urgentie" / "soest_2025-11-03.csv", header, [["R1", "02-03-2025", "Ingetrokken"]])
    load_all(landing, warehouse)
    assert query(
        warehouse, "SELECT commissie, besluit FROM raw.urgentie_registraties_actueel ORDER BY 1"
    ) == [("baarn", "in_behandeling"), ("soest", "ingetrokken")]


def test_changed_file_replaces_its_earlier_rows(landing, warehouse):
    header = ["Plan ID", "Gemeente", "Status", "Aantal woningen"]
    path = landing / "planregister" / "planregister_2025-03.csv"
    write_csv(path, header, [["P1", "Soest", "Zacht", "10"], ["P2", "Soest", "Hard", "20"]])
    load_all(landing, warehouse)
    write_csv(path, header, [["P1", "Soest", "Hard", "12"]])  # a corrected snapshot for the same peildatum
    [o] = load_all(landing, warehouse)
    assert o.status == "geladen"
    assert query(warehouse, "SELECT plan_id, status, aantal_woningen FROM raw.planregister_plannen") == [
        ("P1", "hard", 12)
    ]


def test_configuration_change_recovers_quarantined_rows(tmp_path, landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        [*TOEWIJZINGEN_HEADER, "Label"],
        [toewijzing_row(1) + ["Starters"], toewijzing_row(2) + ["Senioren"]],
    )
    load_all(landing, warehouse)
    assert query(warehouse, "SELECT count(*) FROM audit.quarantaine") == [(1,)]
    # A data engineer adds the spelling to the vocabulary: a configuration change, not a code change.
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    vocab = config_dir / "vocabularies.yaml"
    vocab.write_text(
        vocab.read_text(encoding="utf-8").replace("jongeren: [Jongeren,", "jongeren: [Starters, Jongeren,"),
        encoding="utf-8",
    )
    config = load_config(config_dir, SEEDS_DIR)
    assert config.config_hash != load_config().config_hash
    [o] = load_all(landing, warehouse, config=config)
    assert o.status == "geladen" and o.rijen_geladen == 2
    assert query(warehouse, "SELECT count(*) FROM audit.quarantaine") == [(0,)]
    assert query(warehouse, "SELECT toewijzing_id, label FROM raw.swev_toewijzingen ORDER BY 1") == [
        ("T0001", "jongeren"),
        ("T0002", "senioren"),
    ]


KILLER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from warehouse import store
    from tests.helpers import KEY, load_all

    original = store.store_file

    def store_then_hang(conn, table, audit, *args, **kwargs):
        # Stop inside the open transaction, after the rows are inserted: the test kills us here.
        real_execute = conn.execute
        class Hanging:
            def __getattr__(self, name):
                return getattr(conn, name)
            def execute(self, sql, *args):
                if sql == "COMMIT":
                    print("IN_TRANSACTION", flush=True)
                    time.sleep(600)
                return real_execute(sql, *args)
        return original(Hanging(), table, audit, *args, **kwargs)

    store.store_file = store_then_hang
    load_all(Path(sys.argv[1]), Path(sys.argv[2]), KEY)
""")


def test_load_killed_halfway_leaves_the_warehouse_unchanged(landing, warehouse, tmp_path):
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)])
    load_all(landing, warehouse)
    before = _state(warehouse)
    write_csv(
        landing / "swev" / "toewijzingen_2025-11-03.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(i, datum="01-10-2025") for i in range(2, 2002)],
    )
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(landing), str(warehouse)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    deadline = time.time() + 60
    line = ""
    while time.time() < deadline and "IN_TRANSACTION" not in line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
    assert "IN_TRANSACTION" in line, "the loader never reached its transaction"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _state(warehouse) == before
    assert query(
        warehouse, "SELECT count(*) FROM audit.bestanden WHERE pad = 'swev/toewijzingen_2025-11-03.csv'"
    ) == [(0,)]
    # The next run loads the file again, completely.
    outcomes = {o.pad: o.status for o in load_all(landing, warehouse)}
    assert outcomes["swev/toewijzingen_2025-11-03.csv"] == "geladen"
    assert query(warehouse, "SELECT count(*) FROM raw.swev_toewijzingen") == [(2001,)]


def _chunked_file(landing, suffix):
    rows = [
        toewijzing_row(i, datum="01-03-2025" if suffix == ".csv" else dt.datetime(2025, 3, 1))
        for i in range(1, 26)
    ]
    rows[6][3] = "31-02-2025"  # a bad date in the second chunk
    rows[19][0] = rows[2][0]  # the same id in the first and the fourth chunk: both rows bad
    rows[22][0] = rows[6][0]  # the same id as the bad row of chunk two: this one is bad too
    rows[10] = ["", "", "", "", "", ""]  # an empty line inside the data
    path = landing / "swev" / f"toewijzingen_2025-04-02{suffix}"
    if suffix == ".csv":
        return write_csv(path, TOEWIJZINGEN_HEADER, rows + [["Totaal", "24"]])
    return write_xlsx(path, TOEWIJZINGEN_HEADER, rows, title_rows=2, total_row=True)


def test_a_file_read_in_chunks_loads_as_if_read_at_once(tmp_path, monkeypatch):
    """Large deliveries are read in chunks: row numbers, quarantine and duplicates must not depend on that."""
    import ingest.readers

    for suffix in (".csv", ".xlsx"):
        results = []
        for chunk_rows in (5, ingest.readers.CHUNK_ROWS):
            monkeypatch.setattr(ingest.readers, "CHUNK_ROWS", chunk_rows)
            landing, warehouse = (
                tmp_path / f"l{chunk_rows}{suffix}",
                tmp_path / f"w{chunk_rows}{suffix}.duckdb",
            )
            _chunked_file(landing, suffix)
            [outcome] = load_all(landing, warehouse)
            results.append(
                (
                    outcome.rijen_gelezen,
                    outcome.rijen_geladen,
                    outcome.rijen_quarantaine,
                    query(
                        warehouse, "SELECT toewijzing_id, _rijnummer FROM raw.swev_toewijzingen ORDER BY 2"
                    ),
                    query(warehouse, "SELECT rijnummer, kolom FROM audit.quarantaine ORDER BY 1"),
                    query(warehouse, "SELECT totaalrijen_overgeslagen FROM audit.bestanden"),
                )
            )
        chunked, whole = results
        assert chunked == whole, suffix
        first_row = (
            2 if suffix == ".csv" else 4
        )  # row number of the first data row (below title rows and header)
        assert whole[:3] == (
            24,
            20,
            4,
        )  # 25 rows less the empty one; bad: the date and the duplicates of two ids
        assert [r for r, _ in whole[4]] == [first_row + k for k in (2, 6, 19, 22)]
        assert whole[5] == [(1,)]


def test_unchanged_rows_of_a_cumulative_delivery_are_sightings_not_versions(landing, warehouse):
    """Issue 13: raw grows with changes, not with deliveries; lineage and "latest delivery wins" still hold."""
    first = [toewijzing_row(i, datum="01-03-2025") for i in range(1, 51)]
    write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", TOEWIJZINGEN_HEADER, first)
    load_all(landing, warehouse)
    # The next cumulative delivery repeats all 50 rows, corrects T0007 and adds T0051.
    second = [toewijzing_row(i, datum="01-03-2025", huur="655,00" if i == 7 else 600) for i in range(1, 52)]
    write_csv(landing / "swev" / "toewijzingen_2025-11-03.csv", TOEWIJZINGEN_HEADER, second)
    # An older extraction arriving last repeats T0001 with another rent: it must not win.
    write_csv(
        landing / "swev" / "toewijzingen_2024-11-01.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1, datum="01-03-2025", huur=590)],
    )
    load_all(landing, warehouse)
    assert query(warehouse, "SELECT count(*) FROM raw.swev_toewijzingen__versies") == [
        (53,)
    ]  # 50 + T0007' + T0051 + T0001'
    assert query(warehouse, "SELECT count(*) FROM raw.swev_toewijzingen__waarnemingen") == [(102,)]
    # Lineage: every row read is still there with its file and row number.
    assert query(
        warehouse,
        "SELECT _pad, count(*), min(_rijnummer), max(_rijnummer) FROM raw.swev_toewijzingen "
        "GROUP BY 1 ORDER BY 1",
    ) == [
        ("swev/toewijzingen_2024-11-01.csv", 1, 2, 2),
        ("swev/toewijzingen_2025-04-02.csv", 50, 2, 51),
        ("swev/toewijzingen_2025-11-03.csv", 51, 2, 52),
    ]
    actueel = query(
        warehouse,
        "SELECT toewijzing_id, netto_huur, _pad, _rijnummer FROM raw.swev_toewijzingen_actueel "
        "WHERE toewijzing_id IN ('T0001', 'T0007', 'T0051') ORDER BY 1",
    )
    assert actueel == [
        ("T0001", 600.0, "swev/toewijzingen_2025-11-03.csv", 2),
        ("T0007", 655.0, "swev/toewijzingen_2025-11-03.csv", 8),
        ("T0051", 600.0, "swev/toewijzingen_2025-11-03.csv", 52),
    ]
    assert query(
        warehouse, "SELECT count(*), count(DISTINCT toewijzing_id) FROM raw.swev_toewijzingen_actueel"
    ) == [(51, 51)]
    # The actueel table kept at load time equals the rule computed afresh from all sightings.
    fresh = query(
        warehouse,
        "SELECT * FROM raw.swev_toewijzingen QUALIFY row_number() OVER (PARTITION BY "
        "toewijzing_id ORDER BY _leverdatum DESC, _bestand_id DESC) = 1 ORDER BY toewijzing_id",
    )
    assert query(warehouse, "SELECT * FROM raw.swev_toewijzingen_actueel ORDER BY toewijzing_id") == fresh


def test_a_replaced_file_takes_its_sightings_along_and_keys_fall_back(landing, warehouse):
    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1, datum="01-03-2025", huur=600), toewijzing_row(2, datum="01-03-2025")],
    )
    path = landing / "swev" / "toewijzingen_2025-11-03.csv"
    write_csv(
        path,
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1, datum="01-03-2025", huur=700), toewijzing_row(3, datum="01-10-2025")],
    )
    load_all(landing, warehouse)
    write_csv(
        path, TOEWIJZINGEN_HEADER, [toewijzing_row(3, datum="01-10-2025")]
    )  # re-delivered without T0001
    load_all(landing, warehouse)
    assert query(
        warehouse, "SELECT toewijzing_id, netto_huur, _pad FROM raw.swev_toewijzingen_actueel ORDER BY 1"
    ) == [
        ("T0001", 600.0, "swev/toewijzingen_2025-04-02.csv"),
        ("T0002", 600.0, "swev/toewijzingen_2025-04-02.csv"),
        ("T0003", 600.0, "swev/toewijzingen_2025-11-03.csv"),
    ]
    # The 700 version is seen nowhere any more, so it is gone.
    assert query(warehouse, "SELECT count(*) FROM raw.swev_toewijzingen__versies") == [(3,)]


def test_an_older_warehouse_raw_table_is_converted_in_place(landing, warehouse):
    import duckdb

    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(i) for i in range(1, 4)],
    )
    write_csv(
        landing / "swev" / "toewijzingen_2025-11-03.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(i, huur=610 if i == 2 else 600) for i in range(1, 5)],
    )
    load_all(landing, warehouse)
    before = _state(warehouse), query(warehouse, "SELECT * FROM raw.swev_toewijzingen_actueel ORDER BY ALL")
    with duckdb.connect(str(warehouse)) as conn:  # back to the layout of a warehouse built before issue 13
        conn.execute("CREATE TABLE raw.oud AS SELECT * FROM raw.swev_toewijzingen")
        for obj in (
            "VIEW raw.swev_toewijzingen",
            "VIEW raw.swev_toewijzingen_actueel",
            "TABLE raw.swev_toewijzingen__versies",
            "TABLE raw.swev_toewijzingen__waarnemingen",
            "TABLE raw.swev_toewijzingen__actueel",
        ):
            conn.execute(f"DROP {obj}")
        conn.execute("ALTER TABLE raw.oud RENAME TO swev_toewijzingen")
    load_all(landing, warehouse)
    assert (
        _state(warehouse),
        query(warehouse, "SELECT * FROM raw.swev_toewijzingen_actueel ORDER BY ALL"),
    ) == before
    assert query(warehouse, "SELECT count(*) FROM raw.swev_toewijzingen__versies") == [(5,)]
