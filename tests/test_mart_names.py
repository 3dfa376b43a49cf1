"""Every mart explains itself (issue 22): a name beside every code, a Dutch label in `referentie` for every code value
the marts hold, descriptions that cite no document the analyst does not have, and a household housed in a gemeente
of the region outside the agreement counted as housed in `doorlooptijd_huisvesting`.

The marts read are those of the session's sample run (a copy: ``tests.helpers.sample_built``); the lookup's codes
are checked against the ingest vocabularies and the national seeds as files. One test moves linked allocations of
that copy to a gemeente outside the agreement and rebuilds the one mart with dbt (no pipeline run).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from basics import paths
from basics.manifest import marts
from tests.helpers import query, sample_built

ROOT = Path(__file__).resolve().parents[1]
VOCABULARIES = ROOT / "ingest" / "config" / "vocabularies.yaml"
REPORT_CONFIG = ROOT / "products" / "report" / "config.yaml"

# A code column and the column that names it. A column ending in `_code` is named by `<stem>_naam` (the rule);
# these code columns have no `_code` suffix or a plural name.
NAME_OF = {
    "herkomst": "herkomst_naam",
    "commissie": "commissie_naam",
    "groep": "groep_gemeenten",
    "verdeelsleutel": "verdeelsleutel_naam",
    "gemeente_buiten_afspraak_codes": "gemeente_buiten_afspraak_namen",
}

# Where every code value of a mart column has its Dutch label: a query of (code, label) over `referentie`.
GEMEENTE = "SELECT gemeente_code, gemeente_naam FROM referentie.gemeenten"
LOOKUP = {
    "gemeente_code": GEMEENTE,
    "uitstroomgemeente_code": GEMEENTE,
    "herkomst": f"{GEMEENTE} UNION ALL SELECT code, naam FROM referentie.codelijst WHERE domein = 'herkomst'",
    "commissie": "SELECT commissie_code, naam FROM referentie.commissies",
    "commissie_code": "SELECT commissie_code, naam FROM referentie.commissies",
    "groep": "SELECT groep, string_agg(gemeente_code, ' ') FROM referentie.ingroeipad_groepen GROUP BY groep",
    "verdeelsleutel_keuze": "SELECT code, naam FROM referentie.codelijst WHERE domein = 'verdeelsleutel'",
    # kerncijfers: a gemeente, an ingroeipad group or the region, by `niveau`
    "niveau": "SELECT code, naam FROM referentie.codelijst WHERE domein = 'niveau'",
    "code": f"{GEMEENTE} UNION ALL SELECT DISTINCT groep, groep FROM referentie.ingroeipad_groepen "
    "UNION ALL SELECT regio_code, regio_naam FROM referentie.regio",
    **{
        domein: f"SELECT code, naam FROM referentie.codelijst WHERE domein = '{domein}'"
        for domein in ("urgentiecategorie", "subcategorie", "afwijzingsgrond", "woningtype")
    },
}
# Grain columns that are no code (a year, a date) and a code that maps to the lookup through another column.
NO_CODE = {"jaar", "peildatum"}
MAPPED = {"verdeelsleutel": "verdeelsleutel_keuze"}
OFFENDING = ("§", ".md", "seed ", "telt_mee")


@pytest.fixture(scope="module")
def built(sample_run, tmp_path_factory) -> Path:
    return sample_built(sample_run, tmp_path_factory.mktemp("namen"))


def _columns(warehouse: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table, column in query(
        warehouse,
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
        "ORDER BY table_name, column_index",
    ):
        found.setdefault(table, []).append(column)
    return found


def _name_column(column: str) -> str | None:
    if column in NAME_OF:
        return NAME_OF[column]
    if column.endswith("_code"):
        return column.removesuffix("_code") + "_naam"
    return None


def test_every_code_column_of_every_mart_has_its_name_beside_it(built):
    tables = _columns(built)
    assert set(tables) == {m.name for m in marts()}
    pairs = []
    for table, columns in tables.items():
        for column in columns:
            naam = _name_column(column)
            if naam is not None:
                assert naam in columns, (table, column, naam)
                pairs.append((table, column))
                # the name stands right beside its code (after the committee's code, when the mart has both)
                assert columns.index(naam) - columns.index(column) in (1, 2), (table, column, columns)
    checked = {c for _, c in pairs}
    assert {
        "gemeente_code",
        "herkomst",
        "uitstroomgemeente_code",
        "commissie",
        "commissie_code",
        "groep",
        "verdeelsleutel",
    } <= checked
    # A committee's code has one name everywhere: commissie_code beside the older commissie, same values.
    for table, columns in tables.items():
        if "commissie" in columns:
            assert "commissie_code" in columns, table
            assert query(
                built, f"SELECT count(*) FROM marts.{table} WHERE commissie IS DISTINCT FROM commissie_code"
            ) == [(0,)]


def test_the_names_are_those_of_the_reference_tables(built):
    """A name column holds the lookup's name of its code (the gemeente, committee, origin); the key's name is the
    lookup's with its period, as the report labels it."""
    for table, columns in _columns(built).items():
        for column in columns:
            naam = _name_column(column)
            if naam is None or column in ("groep", "verdeelsleutel", "gemeente_buiten_afspraak_codes"):
                continue
            [[wrong]] = query(
                built,
                f"SELECT count(*) FROM marts.{table} AS m LEFT JOIN ({LOOKUP[column]}) AS l(code, naam) "
                f"ON m.{column} = l.code WHERE m.{naam} IS DISTINCT FROM l.naam",
            )
            assert wrong == 0, (table, column)
    groepen = query(built, "SELECT DISTINCT groep, groep_gemeenten FROM marts.ingroeipad ORDER BY 1")
    expected = query(
        built,
        "SELECT i.groep, string_agg(g.gemeente_naam, ', ' ORDER BY g.gemeente_naam) "
        "FROM referentie.ingroeipad_groepen AS i JOIN referentie.gemeenten AS g USING (gemeente_code) "
        "WHERE g.in_afspraak GROUP BY 1 ORDER BY 1",
    )
    assert groepen == expected and len(groepen) >= 2
    report = yaml.safe_load(REPORT_CONFIG.read_text(encoding="utf-8"))["labels"]["verdeelsleutel"]
    sleutels = query(built, "SELECT DISTINCT verdeelsleutel, verdeelsleutel_naam FROM marts.verdeelsleutels")
    assert {"afspraak_2025_2026", "inwoners"} <= {k for k, _ in sleutels}
    assert {k: report[k] for k, _ in sleutels} == dict(sleutels)  # one label, in the report and the mart


def test_every_code_value_in_the_marts_has_a_label_in_referentie(built):
    checked = set()
    for mart in marts():
        columns = _columns(built)[mart.name]
        for column in mart.grain:
            if column in NO_CODE:
                continue
            lookup_column = MAPPED.get(column, column)
            assert lookup_column in LOOKUP, (mart.name, column)  # a new code column needs its lookup here
            missing = query(
                built,
                f"SELECT DISTINCT m.{lookup_column} FROM marts.{mart.name} AS m "
                f"LEFT JOIN ({LOOKUP[lookup_column]}) AS l(code, naam) ON m.{lookup_column} = l.code "
                f"WHERE m.{lookup_column} IS NOT NULL AND l.naam IS NULL",
            )
            assert missing == [], (mart.name, column, missing)
            assert query(built, f"SELECT count(DISTINCT {lookup_column}) FROM marts.{mart.name}")[0][0] > 0
            checked.add(lookup_column)
        assert set(mart.grain) <= set(columns)
    assert {
        "gemeente_code",
        "herkomst",
        "commissie",
        "afwijzingsgrond",
        "woningtype",
        "subcategorie",
    } <= checked
    # the codes that stand beside the grain: the gemeenten where a household was housed outside the agreement
    codes = query(
        built,
        "SELECT DISTINCT unnest(string_split(gemeente_buiten_afspraak_codes, ', ')) FROM marts.doorlooptijd_huisvesting "
        "WHERE gemeente_buiten_afspraak_codes IS NOT NULL "
        "EXCEPT SELECT gemeente_code FROM referentie.gemeenten WHERE NOT in_afspraak",
    )
    assert codes == []


def _codelijst() -> dict[str, dict[str, str]]:
    with open(paths.SEEDS_DIR / "codelijst.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        assert row["naam"].strip() and row["omschrijving"].strip(), row
        assert row["code"] not in found.get(row["domein"], {}), row
        found.setdefault(row["domein"], {})[row["code"]] = row["naam"]
    return found


def test_the_lookup_has_exactly_the_codes_of_the_vocabularies():
    """The codes come from one place: the ingest vocabularies and the national seed of categories; the lookup
    adds only their Dutch names, and a code added to a vocabulary without a name fails here."""
    lijst = _codelijst()
    vocab = yaml.safe_load(VOCABULARIES.read_text(encoding="utf-8"))
    for domein in ("besluit", "afwijzingsgrond", "toewijzingsroute", "label", "planstatus"):
        codes = set(vocab[domein]["values"]) | ({vocab[domein].get("catch_all")} - {None})
        assert set(lijst[domein]) == codes, domein
    keys = list(vocab["urgentiecategorie"]["values"])
    with open(paths.SEEDS_DIR / "urgentiecategorieen.csv", encoding="utf-8", newline="") as fh:
        seed = list(csv.DictReader(fh))
    assert (
        set(lijst["urgentiecategorie"])
        == {k.split("/")[0] for k in keys}
        == {r["urgentiecategorie"] for r in seed}
    )
    # `uitstroom` without a recognisable subcategory is kept as subcategory `onbekend` (ingest rule)
    assert set(lijst["subcategorie"]) == {k.split("/")[1] for k in keys if "/" in k} | {"onbekend"}
    assert set(lijst["subcategorie"]) == {r["subcategorie"] for r in seed if r["subcategorie"]}
    # the region's choice of keys names the same keys, in every region pack
    for pack in sorted((ROOT / "regions").glob("*/seeds/verdeelsleutel_keuze.csv")):
        with open(pack, encoding="utf-8", newline="") as fh:
            assert {r["verdeelsleutel"] for r in csv.DictReader(fh)} == set(lijst["verdeelsleutel"]), pack
    with open(paths.SEEDS_DIR / "_seeds.yml", encoding="utf-8") as fh:
        seeds = {s["name"]: s for s in yaml.safe_load(fh)["seeds"]}
    [soort] = [c for c in seeds["commissies"]["columns"] if c["name"] == "soort"]
    assert set(lijst["commissiesoort"]) == set(
        soort["data_tests"][0]["accepted_values"]["arguments"]["values"]
    )
    # the report's own labels are the lookup's (one name per code)
    report = yaml.safe_load(REPORT_CONFIG.read_text(encoding="utf-8"))
    for domein in ("afwijzingsgrond", "woningtype", "urgentiecategorie"):
        assert {k: lijst[domein][k] for k in report["labels"][domein]} == report["labels"][domein], domein
    assert report["herkomst_extra"] == lijst["herkomst"]
    assert {"gehuisvest", "nog_wachtend", "verlopen"} == set(lijst["huisvestingsstatus"])


def test_no_published_description_cites_a_document_or_a_seed(built):
    """The published copy's table and column comments (info.tabellen, info.kolommen: also what PostgreSQL gets)
    and every description in the dbt manifest say in plain words what the analyst needs."""
    served = built.parent.parent / "serving" / "fairshare.duckdb"
    with duckdb.connect(str(served), read_only=True) as conn:
        texts = conn.execute(
            "SELECT schema_name || '.' || table_name, comment FROM info.tabellen UNION ALL "
            "SELECT schema_name || '.' || table_name || '.' || column_name, comment FROM info.kolommen"
        ).fetchall()
    assert len(texts) > 300
    manifest = json.loads((paths.DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed") and node["schema"] in ("marts", "referentie"):
            texts.append((node["name"], node["description"]))
            texts += [(f"{node['name']}.{c}", col["description"]) for c, col in node["columns"].items()]
    bad = [(where, text) for where, text in texts if any(s in (text or "").lower() for s in OFFENDING)]
    assert bad == []


def _dbt_run_mart(warehouse: Path, work: Path, model: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRSHARE_", "DBT_"))}
    env.update(
        FAIRSHARE_WAREHOUSE=str(warehouse.resolve()), DBT_TARGET_PATH=str(work), DBT_LOG_PATH=str(work)
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--select", model, "--profiles-dir", "."],
        cwd=paths.DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]


TOTALS = "SELECT sum(gehuisvest), sum(nog_wachtend), sum(verlopen) FROM marts.doorlooptijd_huisvesting"
# Each housed registration with the gemeente of the allocation that housed it (the mart's own rule, listed record
# by record in onderbouwing: tests/test_uitleg.py holds every cell equal to the mart).
HOUSED = (
    "SELECT toewijzing_id, gemeente_code FROM onderbouwing.doorlooptijd_huisvesting "
    "WHERE kolom = 'gehuisvest' AND telt_mee"
)
BUITEN = "SELECT gemeente_code FROM referentie.gemeenten WHERE NOT in_afspraak"


def test_a_household_housed_outside_the_agreement_counts_as_housed(built, tmp_path):
    """On the sample as delivered no linked allocation lies outside the agreement (its registrations stand behind
    allocations in the agreement's gemeenten): the mart's new count equals that count. Then 12 linked allocations
    of the copy are moved, where the linking reads them (staging), to a gemeente of the region outside the
    agreement, as real data would have them, and dbt rebuilds everything after staging: their households stay
    housed, named where; the old rule (housed only by an allocation in the agreement's gemeenten) loses them."""
    [[delivered]] = query(built, f"SELECT count(*) FROM ({HOUSED}) WHERE gemeente_code IN ({BUITEN})")
    assert query(
        built,
        "SELECT coalesce(sum(gehuisvest_in_gemeente_buiten_afspraak), 0) FROM marts.doorlooptijd_huisvesting",
    ) == [(delivered,)]
    assert query(
        built,
        "SELECT count(*) FROM marts.doorlooptijd_huisvesting WHERE toegekend <> gehuisvest + nog_wachtend + verlopen",
    ) == [(0,)]
    before = query(built, TOTALS)[0]
    assert query(built, f"SELECT count(*) FROM ({HOUSED})") == [(before[0],)]

    [[elders, naam]] = query(
        built,
        f"SELECT gemeente_code, gemeente_naam FROM ({BUITEN}) JOIN referentie.gemeenten USING (gemeente_code) LIMIT 1",
    )
    moved = [
        t  # linked allocations spread over committees and years (every link is a granted, legal registration)
        for (t,) in query(
            built,
            f"SELECT toewijzing_id FROM ({HOUSED}) WHERE gemeente_code NOT IN ({BUITEN}) ORDER BY md5(toewijzing_id) LIMIT 12",
        )
    ]
    assert len(moved) == 12
    with duckdb.connect(str(built)) as conn:
        conn.execute(
            "UPDATE staging.stg_swev__toewijzingen SET gemeente_code = ? WHERE list_contains(?, toewijzing_id)",
            [elders, moved],
        )
    _dbt_run_mart(built, tmp_path / "dbt", "int_toewijzingen+")

    assert query(built, TOTALS)[0] == before  # still housed: no figure moves to nog_wachtend or verlopen
    assert query(built, f"SELECT count(*) FROM ({HOUSED}) WHERE gemeente_code IN ({BUITEN})") == [
        (delivered + 12,)
    ]
    # the old rule counted only these as housed: 12 fewer, shown as still waiting or expired
    assert query(built, f"SELECT count(*) FROM ({HOUSED}) WHERE gemeente_code NOT IN ({BUITEN})") == [
        (before[0] - delivered - 12,)
    ]
    rows = query(
        built,
        "SELECT gehuisvest_in_gemeente_buiten_afspraak, gemeente_buiten_afspraak_codes, gemeente_buiten_afspraak_namen "
        "FROM marts.doorlooptijd_huisvesting WHERE gehuisvest_in_gemeente_buiten_afspraak > 0",
    )
    assert sum(n for n, _, _ in rows) == delivered + 12
    assert (elders, naam) in {(codes, namen) for _, codes, namen in rows}
    assert query(
        built,
        "SELECT count(*) FROM marts.doorlooptijd_huisvesting WHERE (gehuisvest_in_gemeente_buiten_afspraak = 0) "
        "<> (gemeente_buiten_afspraak_codes IS NULL)",
    ) == [(0,)]
