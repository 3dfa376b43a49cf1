"""The marts on the sample data reproduce the policy documents (issue 3, "Done when")."""

from __future__ import annotations

import pytest

from basics import region
from basics.manifest import mart_names
from tests.helpers import query

# Published in the afsprakenkader, hoofdstuk 4 (reference.md §4): expected share 2025-2026 per gemeente.
PUBLISHED_VERWACHT_AANDEEL_2025_2026 = {
    "Amersfoort": 11.9,
    "Baarn": 8.3,
    "Bunschoten": 15.1,
    "Eemnes": 6.3,
    "Leusden": 12.5,
    "Nijkerk": 5.6,
    "Soest": 7.1,
    "Woudenberg": 11.4,
}


@pytest.fixture(scope="module")
def warehouse(sample_run):
    summary, landing, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    return warehouse


def test_every_mart_is_built_with_rows(warehouse):
    for mart in mart_names():
        assert query(warehouse, f"SELECT count(*) FROM marts.{mart}")[0][0] > 0, mart


def test_the_report_is_as_of_1_november_2026(warehouse):
    assert query(
        warehouse,
        "SELECT CAST(peildatum AS VARCHAR), CAST(data_tot AS VARCHAR) FROM info.peildatum",
    ) == [("2026-11-01", "2026-10-31")]
    assert query(
        warehouse, "SELECT jaar, maanden_data FROM marts.ingroeipad WHERE groep = 'Amersfoort' ORDER BY 1"
    ) == [(2025, 12), (2026, 10)]


def test_suitability_funnel_2022_2024_equals_the_published_funnel(warehouse):
    published = {r["stap"]: int(r["aantal"]) for r in region.read_seed("geschiktheid_referentie.csv")}
    steps = [
        "toewijzingen",
        "swev",
        "swev_max_3_kamers",
        "tot_hoge_aftoppingsgrens",
        "tot_lage_aftoppingsgrens",
        "tot_lage_gelabeld",
        "boven_lage_gepersonaliseerd",
    ]
    got = query(
        warehouse,
        f"SELECT {', '.join(f'sum({s})' for s in steps)} FROM marts.toewijzingen_geschiktheid "
        "WHERE jaar BETWEEN 2022 AND 2024",
    )[0]
    assert dict(zip(steps, got, strict=True)) == {s: published[s] for s in steps}
    assert [published[s] for s in steps] == [7165, 6702, 4899, 4066, 3467, 1493, 303]


def test_allocations_2024_per_gemeente_equal_the_documents(warehouse):
    got = dict(
        query(
            warehouse, "SELECT gemeente_naam, toewijzingen FROM marts.fair_share_gemeente WHERE jaar = 2024"
        )
    )
    assert got == {
        "Amersfoort": 1130,
        "Baarn": 168,
        "Bunschoten": 86,
        "Eemnes": 64,
        "Leusden": 160,
        "Nijkerk": 197,
        "Soest": 323,
        "Woudenberg": 70,
    }


def test_verwacht_aandeel_pct_reproduces_the_published_percentages(warehouse):
    for jaar in (2025, 2026):
        got = dict(
            query(
                warehouse,
                "SELECT gemeente_naam, verwacht_aandeel_pct FROM marts.fair_share_gemeente WHERE jaar = ?",
                [jaar],
            )
        )
        assert got == PUBLISHED_VERWACHT_AANDEEL_2025_2026


def test_ingroeipad_afspraak_is_135_and_92(warehouse):
    assert query(warehouse, "SELECT jaar, groep, afspraak FROM marts.ingroeipad ORDER BY jaar, groep") == [
        (2025, "Amersfoort", 135),
        (2025, "Overige gemeenten", 92),
        (2026, "Amersfoort", 135),
        (2026, "Overige gemeenten", 92),
    ]


def test_sample_tells_its_story_amersfoort_above_others_below(warehouse):
    rows = dict(query(warehouse, "SELECT groep, verschil FROM marts.ingroeipad WHERE jaar = 2025"))
    assert rows["Amersfoort"] > 0 > rows["Overige gemeenten"]


def test_fair_share_equals_urgent_allocations_and_linking_is_complete(warehouse):
    assert query(
        warehouse, "SELECT sum(gehuisvest + gehuisvest_buiten_afspraak) FROM marts.fair_share"
    ) == query(warehouse, "SELECT count(*) FROM info.urgente_toewijzingen")
    linked, total = query(
        warehouse,
        "SELECT count(*) FILTER (is_gekoppeld), count(*) FROM info.urgente_toewijzingen WHERE jaar >= 2025",
    )[0]
    assert linked > 0.9 * total


def test_marts_hold_no_row_for_barneveld(warehouse):
    for mart in mart_names():
        cols = [
            c
            for (c,) in query(
                warehouse,
                "SELECT column_name FROM information_schema.columns WHERE "
                "table_schema = 'marts' AND table_name = ?",
                [mart],
            )
        ]
        for col in {"gemeente_code", "uitstroomgemeente_code", "herkomst", "commissie"} & set(cols):
            assert query(warehouse, f"SELECT count(*) FROM marts.{mart} WHERE {col} = 'GM0203'") == [(0,)], (
                mart,
                col,
            )
