"""Counting rules as a rule table (issue 23, seed ``telt_mee_uitzonderingen``): what an old pack gets, and the
reason the onderbouwing gives. Each dimension's logic (urgentiecategorie, corporatie, years, the most specific
rule) is pinned by the dbt unit tests ``telregel_*`` (dbt_project/models/intermediate/_intermediate__unit_tests.yml,
run by test_marts_definitions.py); the sample's figures, unchanged, by test_marts_sample.py and
test_kerncijfers.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from basics import region, seeds
from tests.helpers import query, sample_built

ROOT = Path(__file__).resolve().parents[1]
OLD_HEADER = "gemeente_code,subcategorie,reden"


@pytest.fixture
def pack(tmp_path, monkeypatch) -> Path:
    """A copy of the example pack in a regions folder of its own (the real regions/ is left alone)."""
    root = tmp_path / "regions"
    shutil.copytree(ROOT / "regions" / "voorbeeld", root / "voorbeeld")
    monkeypatch.setattr(region, "REGIONS_DIR", root)
    return root / "voorbeeld"


def test_a_pack_with_the_old_pairs_gets_a_message_saying_how_to_upgrade(pack):
    seed = pack / "seeds" / "telt_mee_uitzonderingen.csv"
    seed.write_text(f"{OLD_HEADER}\n*,ggz,Klinische GGZ telt niet mee\n", encoding="utf-8")
    with pytest.raises(region.BadPack) as raised:
        region.check_pack("voorbeeld")
    message = str(raised.value)
    assert str(seed) in message
    assert "lacks the columns urgentiecategorie, corporatie, jaar_van, jaar_tot" in message
    assert "found gemeente_code, subcategorie, reden" in message
    # how to keep the old meaning, in the same sentence
    assert "'*' (urgentiecategorie, corporatie) and empty jaren (jaar_van, jaar_tot)" in message


def test_a_pack_with_the_old_flag_name_gets_a_message_naming_the_new_one(pack):
    seed = pack / "seeds" / "corporaties.csv"
    seed.write_text(seed.read_text(encoding="utf-8").replace("samenwerkend", "is_swev", 1), encoding="utf-8")
    with pytest.raises(region.BadPack) as raised:
        region.check_pack("voorbeeld")
    assert str(seed) in str(raised.value) and "lacks the column samenwerkend" in str(raised.value)
    assert "is now called samenwerkend" in str(raised.value)


HEADER = "gemeente_code,urgentiecategorie,subcategorie,corporatie,jaar_van,jaar_tot,reden"


@pytest.mark.parametrize(
    ("rule", "column", "says"),
    [
        ("*,*,ggz,*,2025a,,Klinische GGZ", "jaar_van", "'2025a' is not a year"),
        ("*,*,ggz,*,,25,Klinische GGZ", "jaar_tot", "'25' is not a year"),
        ("*,*,ggz,*,2026,2025,Klinische GGZ", "jaar_tot", "2025 is before jaar_van 2026"),
        ("GM9905,*,detentie,*,,,", "reden", "empty"),
    ],
)
def test_a_bad_rule_is_named_by_file_line_and_column(pack, rule, column, says):
    """A year that is no year stopped dbt's seed load only after all of ingest (exit 3); a rule without a reason
    gave the onderbouwing none. Now the pack check names them before anything is read."""
    seed = pack / "seeds" / "telt_mee_uitzonderingen.csv"
    seed.write_text(f'{HEADER}\n*,*,mo,*,,,"Goed, met komma"\n{rule}\n', encoding="utf-8")
    with pytest.raises(region.BadPack) as raised:
        region.check_pack("voorbeeld")
    assert str(raised.value).startswith(f"the seed file {seed}, line 3, column {column}: ")
    assert says in str(raised.value)


def test_the_packs_in_the_tree_pass_the_check():
    for regio in ("amersfoort", "voorbeeld"):
        region.check_pack(regio)


def _most_specific(rules: list[dict], row: tuple) -> str | None:
    """The rule a record falls under, as the rule table reads (written again here, from the seed)."""
    gemeente, categorie, sub, corporatie, jaar = row

    def fits(value: str, actual) -> bool:
        return (value or "*").strip() in ("*", actual)

    matching = [
        r
        for r in rules
        if fits(r["gemeente_code"], gemeente)
        and fits(r["urgentiecategorie"], categorie)
        and fits(r["subcategorie"], sub)
        and ((r["corporatie"] or "*").strip().lower() in ("*", (corporatie or "").strip().lower()))
        and (not r["jaar_van"] or int(r["jaar_van"]) <= jaar)
        and (not r["jaar_tot"] or jaar <= int(r["jaar_tot"]))
    ]

    def wildcards(r: dict) -> int:
        columns = ("gemeente_code", "urgentiecategorie", "subcategorie", "corporatie")
        return sum((r[c] or "*").strip() == "*" for c in columns) + (not r["jaar_van"]) + (not r["jaar_tot"])

    return min(matching, key=lambda r: (wildcards(r), r["reden"]))["reden"] if matching else None


def test_a_record_a_rule_excludes_gives_that_rules_reason(sample_run, tmp_path):
    """Every allocation that does not count for the agreement names the reason of its own rule: Eemnes' klinische
    GGZ its own rule (the most specific), Baarn's the regional one."""
    warehouse = sample_built(sample_run, tmp_path)
    rules = seeds.read(ROOT / "regions" / "amersfoort" / "seeds" / "telt_mee_uitzonderingen.csv")
    rows = query(
        warehouse,
        "SELECT o.gemeente_code, o.urgentiecategorie, o.subcategorie, o.corporatie, o.jaar, o.reden "
        "FROM onderbouwing.fair_share AS o WHERE o.reden_code = 'buiten_afspraak'",
    )
    assert len(rows) > 10
    seen = set()
    for *record, reden in rows:
        expected = _most_specific(rules, tuple(record))
        assert expected is not None, record
        assert reden == f"telt niet mee voor de afspraak: {expected} (telt in gehuisvest_buiten_afspraak)", (
            record
        )
        seen.add(expected)
    assert len(seen) >= 2  # more than one rule gave a reason
    # the counted ones match no rule at all
    counted = query(
        warehouse,
        "SELECT gemeente_code, urgentiecategorie, subcategorie, corporatie, jaar FROM onderbouwing.fair_share "
        "WHERE kolom = 'gehuisvest' AND telt_mee",
    )
    assert counted and all(_most_specific(rules, r) is None for r in counted)


@pytest.mark.parametrize(
    ("corporatie", "jaar_van", "niet_te_bepalen"),
    [
        ("*", "", False),  # the rule covers all of it: nothing of that outflow is in the saldo
        (
            "Woonstichting Voorbeeld",
            "",
            True,
        ),  # one landlord's only: the rest counts, the saldo cannot be split
        ("*", "2026", True),  # from 2026 only: 2025's outflow counts in the cumulative saldo
    ],
)
def test_a_compensation_exemption_is_settled_only_where_a_rule_covers_all_of_it(
    tmp_path, corporatie, jaar_van, niet_te_bepalen
):
    """The board's scenario (products/report/compensatie.py) on hand-built tables: a rule limited to a landlord
    or to later years leaves part of the exempted outflow in the saldo, which is then not to be determined."""
    import duckdb

    from products.report import compensatie

    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute(
            "CREATE SCHEMA marts; CREATE SCHEMA referentie; "
            "CREATE TABLE marts.compensatie_saldo AS SELECT * FROM (VALUES "
            "('GM9905', 'Wilgendaal', -3.0, 2025), ('GM9905', 'Wilgendaal', -5.0, 2026)) "
            "AS t(gemeente_code, gemeente_naam, saldo, jaar); "
            "CREATE TABLE referentie.urgentiecategorieen AS "
            "SELECT 'uitstroom' AS urgentiecategorie, 'detentie' AS subcategorie"
        )
        conn.execute(
            "CREATE TABLE referentie.telt_mee_uitzonderingen AS SELECT 'GM9905' AS gemeente_code, "
            "'uitstroom' AS urgentiecategorie, 'detentie' AS subcategorie, ? AS corporatie, "
            "CAST(nullif(?, '') AS INTEGER) AS jaar_van, CAST(NULL AS INTEGER) AS jaar_tot, 'fictief' AS reden",
            [corporatie, jaar_van],
        )
        regel = compensatie.Regel(
            bedrag_per_huishouden=1000.0,
            bron="fictief",
            drempel_huishoudens=1.0,
            verdeling="geen",
            uitzonderingen=(compensatie.Uitzondering("GM9905", "Justitie", ("detentie",), "fictief"),),
            bestand="compensatie.yaml",
        )
        [rij] = compensatie.scenario(conn, regel, 2026, {"GM9905": 1})
    assert (rij.betaalt is None) == niet_te_bepalen
    if niet_te_bepalen:
        assert "telt hier mee in het saldo en is er niet uit te halen" in rij.toelichting
    else:
        assert rij.betaalt == 5000.0 and "telt hier niet mee" in rij.toelichting
