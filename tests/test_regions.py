"""Issue 14: any Dutch region by configuration (a region pack in regions/<regio>/), regions side by side in
their own files, and the province publication over them. spec/regions.md."""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from basics import region
from basics.settings import Settings
from fairshare.runner import run_pipeline
from tests import zygote
from tests.helpers import clean_env, query, regions_lock, write_csv
from tests.test_serving import postgres  # noqa: F401, F811  (the private PostgreSQL cluster fixture)
from warehouse.publish import READER_ROLE

ROOT = Path(__file__).resolve().parents[1]
FAIRSHARE = str(Path(sys.executable).parent / "fairshare")


# ---- no region in code ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _packs_stay_put():
    """Every pack in regions/ is listed here: no other worker adds one meanwhile (tests/conftest.py)."""
    with regions_lock(exclusive=False):
        yield


def _amersfoort_terms() -> list[str]:
    with open(ROOT / "regions" / "amersfoort" / "seeds" / "gemeenten.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [t for g in rows for t in (g["gemeente_naam"], g["gemeente_code"])] + ["RATU"]


def _code_files() -> list[Path]:
    """Code, SQL, templates and configuration: every tracked file but the region packs, tests and documents."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    # workspace.yaml is the installation's list of regions (one code location each), not code.
    exempt = re.compile(
        r"^(regions/|tests/|dbt_project/tests/|.*_unit_tests\.yml$|.*\.md$|dbt_project/seeds/.*\.csv$"
        r"|workspace\.yaml$)"
    )
    keep = re.compile(r"\.(py|sql|j2|yml|yaml|toml|cfg)$|^Makefile$")
    return [ROOT / f for f in tracked if keep.search(f) and not exempt.match(f)]


def test_no_amersfoort_gemeente_name_or_code_in_code_sql_or_templates():
    """The region lives in regions/amersfoort/ (and the sample's calibration there); dbt unit tests and the
    test suite may use its codes as test data, and the national CBS list holds every gemeente."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, _amersfoort_terms())) + r")\b", re.IGNORECASE)
    # The one place that names a region: which pack is the default (its folder, as a path).
    default = re.compile(r"regions/amersfoort\b|DEFAULT_REGIO = \"amersfoort\"")
    files = _code_files()
    assert len(files) > 50
    found = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
        for f in files
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(default.sub("", line))
    ]
    assert found == []


def test_every_region_pack_has_the_same_seeds():
    """dbt knows one set of seed names: a pack missing one (or with a different header) would break the build."""
    packs = region.regions()
    assert {"amersfoort", "voorbeeld"} <= set(packs)
    headers = {
        p: {
            f.name: f.read_text(encoding="utf-8").splitlines()[0]
            for f in (ROOT / "regions" / p / "seeds").glob("*.csv")
        }
        for p in packs
    }
    assert all(h == headers["amersfoort"] for h in headers.values())


def test_an_unknown_region_is_a_usage_error(tmp_path):
    result = zygote.run(
        [FAIRSHARE, "run", "--regio", "nergens", "--landing", str(tmp_path), "--demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert result.returncode == 2
    assert "unknown region 'nergens'" in result.stderr and ", ".join(region.regions()) in result.stderr


def test_a_region_has_its_own_default_folders():
    a, v = Settings.from_env({}), Settings.from_env({}, regio="voorbeeld")
    here = Path.cwd()  # paths are made absolute from the working folder
    assert a.warehouse == here / "data/warehouse/fairshare.duckdb"  # the default region keeps today's paths
    assert v.landing == here / "data/regio/voorbeeld/landing"
    assert v.warehouse == here / "data/regio/voorbeeld/warehouse/fairshare.duckdb"
    assert v.serving_file == here / "data/regio/voorbeeld/serving/fairshare.duckdb"
    assert (
        Settings.from_env({"FAIRSHARE_REGIO": "voorbeeld"}).reports == here / "data/regio/voorbeeld/reports"
    )


# ---- the example region, hand-computed -----------------------------------------------------------------------

# "Verhuurcode SCV" and "Urgentie verleend" are variants of this region's suppliers only (leveranciers.yaml).
SWEV = [
    "Verhuurcode SCV",
    "Corporatie",
    "Gemeente",
    "Toewijzingsdatum",
    "Netto huur",
    "Aantal kamers",
    "Toewijzingsroute",
    "Urgentiecategorie",
    "Herkomstgemeente",
    "Inschrijfnummer",
]
ALLOCATIONS = [
    ["A24", "Woonstichting Voorbeeld", "Voorbeeldstad", "15-06-2024", "600,00", "2", "Regulier", "", "", ""],
    [
        "V1",
        "Woonstichting Voorbeeld",
        "Voorbeeldstad",
        "01-03-2025",
        "600,00",
        "2",
        "Urgentie",
        "Medisch",
        "Voorbeeldstad",
        "111",
    ],
    [
        "V2",
        "Zuiderwoningen",
        "Oudewijk",
        "01-04-2025",
        "600,00",
        "2",
        "Urgentie",
        "Uitstroom MO",
        "Akkerveen",
        "",
    ],
    [
        "K1",
        "Huisvesting Akkerveen",
        "Veenhoek",
        "01-05-2025",
        "600,00",
        "2",
        "Urgentie",
        "Mantelzorg",
        "Akkerveen",
        "",
    ],
    [
        "W1",
        "Zuiderwoningen",
        "Wilgendaal",
        "01-06-2025",
        "600,00",
        "2",
        "Urgentie",
        "Detentie",
        "Wilgendaal",
        "",
    ],
    [
        "W2",
        "Zuiderwoningen",
        "Wilgendaal",
        "01-07-2025",
        "600,00",
        "2",
        "Urgentie",
        "Jeugdzorg met verblijf",
        "Dijkhoven",
        "333",
    ],
    ["D1", "Zuiderwoningen", "Dijkhoven", "01-08-2025", "600,00", "2", "Regulier", "", "", ""],
    [
        "D2",
        "Zuiderwoningen",
        "Dijkhoven",
        "15-10-2025",
        "600,00",
        "2",
        "Urgentie",
        "Medisch",
        "Dijkhoven",
        "",
    ],
    ["X1", "Zuiderwoningen", "Amersfoort", "01-05-2025", "600,00", "2", "Regulier", "", "", ""],
]
REGISTER = [
    "Registratienummer",
    "Aanvraagdatum",
    "Besluitdatum",
    "Besluit",
    "Afwijzingsgrond",
    "Urgentiecategorie",
    "Herkomstgemeente",
    "Inschrijfnummer",
]
NOORD = [
    ["R1", "01-01-2025", "01-02-2025", "Toegekend", "", "Medisch", "Voorbeeldstad", "111"],
    ["R2", "01-03-2025", "01-04-2025", "Afgewezen", "Zelf oplosbaar", "", "Akkerveen", ""],
]
# The regional committee Zuid serves three gemeenten: its registrations count once (spec/regions.md).
ZUID = [
    ["R1", "01-03-2025", "01-04-2025", "Urgentie verleend", "", "Jeugdzorg met verblijf", "Dijkhoven", "333"],
    ["R2", "01-09-2025", "", "In behandeling", "", "", "Bosweide", ""],
]


@pytest.fixture(scope="module")
def voorbeeld(tmp_path_factory):
    """Peildatum 1 November 2025: data_tot 31 October, 10 months of 2025."""
    base = tmp_path_factory.mktemp("voorbeeld")
    landing = base / "landing"
    write_csv(landing / "swev" / "toewijzingen_2025-11-03.csv", SWEV, ALLOCATIONS)
    write_csv(landing / "urgentie" / "noord_2025-11-03.csv", REGISTER, NOORD)
    write_csv(landing / "urgentie" / "zuid_2025-11-03.csv", REGISTER, ZUID)
    settings = Settings.from_env(
        {}, landing=landing, warehouse=base / "w.duckdb", reports=base / "r", demo=True, regio="voorbeeld"
    )
    outcome = run_pipeline(settings)
    assert outcome.success, outcome.error
    return settings.warehouse


def test_example_ingroeipad_has_its_three_groups(voorbeeld):
    # Voorbeeldstad: V1 (medisch), V2 (uitstroom MO; Oudewijk lies in Voorbeeldstad); Akkerveen en Bosweide: K1;
    # Dijkhoven en Wilgendaal: W2 only (W1 detentie does not count in Wilgendaal; D2 is urgent but D1 is not).
    assert query(
        voorbeeld,
        "SELECT groep, gehuisvest, afspraak, afspraak_naar_rato, verschil FROM marts.ingroeipad "
        "ORDER BY groep",
    ) == [
        ("Akkerveen en Bosweide", 1, 28, pytest.approx(28 * 10 / 12), pytest.approx(1 - 28 * 10 / 12)),
        ("Dijkhoven en Wilgendaal", 2, 27, pytest.approx(22.5), pytest.approx(-20.5)),
        ("Voorbeeldstad", 2, 45, pytest.approx(37.5), pytest.approx(-35.5)),
    ]


def test_example_counting_exception_and_fair_share(voorbeeld):
    assert query(
        voorbeeld,
        "SELECT sum(gehuisvest), sum(gehuisvest_buiten_afspraak) FROM marts.fair_share "
        "WHERE gemeente_code = 'GM9905' AND jaar = 2025",
    ) == [(1, 1)]
    assert query(
        voorbeeld,
        "SELECT gemeente_code, toewijzingen, gehuisvest, opgave FROM marts.fair_share_gemeente "
        "WHERE jaar = 2025 ORDER BY 1",
    ) == [
        ("GM9901", 2, 2, 45),
        ("GM9902", 1, 1, 15),
        ("GM9903", 0, 0, 13),
        ("GM9904", 2, 1, 17),
        ("GM9905", 2, 1, 10),
    ]


def test_example_regional_committees_count_each_registration_once(voorbeeld):
    assert query(
        voorbeeld,
        "SELECT commissie, aanvragen, toegekend, afgewezen, in_behandeling "
        "FROM marts.urgentie_aanvragen WHERE jaar = 2025 ORDER BY 1",
    ) == [("noord", 2, 1, 1, 0), ("zuid", 2, 1, 0, 1)]
    assert query(
        voorbeeld,
        "SELECT sum(aanvragen) FROM marts.urgentie_aanvragen",  # the four registrations, each counted once
    ) == [(4,)]
    assert query(
        voorbeeld,
        "SELECT toewijzing_id, commissie, registratie_id FROM info.koppeling ORDER BY 1",
    ) == [("V1", "noord", "R1"), ("W2", "zuid", "R1")]


def test_example_distribution_keys_include_social_housing_stock(voorbeeld):
    got = {
        r[0]: r[1:]
        for r in query(
            voorbeeld,
            "SELECT verdeelsleutel, aandeel_pct, opgave_bij_regionaal_totaal, "
            "verschil_met_afspraak, regionaal_totaal FROM marts.verdeelsleutels "
            "WHERE gemeente_code = 'GM9901'",
        )
    }
    assert set(got) == {
        "inwoners",
        "sociale_huurvoorraad",
        "toewijzingen",
        "afspraak_2025_2026",
        "afspraak_2027_2030",
    }
    share = 100 * 16000 / (16000 + 3500 + 2800 + 4200 + 1500)
    assert got["sociale_huurvoorraad"] == (
        pytest.approx(share),
        pytest.approx(share),
        pytest.approx(share - 45),
        100,
    )
    assert got["inwoners"][0] == pytest.approx(100 * 120000 / 225000)


def test_supplier_variants_of_a_region_are_its_own():
    from ingest.config import load_config
    from ingest.text import match_key

    voorbeeld, amersfoort = load_config(regio="voorbeeld"), load_config(regio="amersfoort")
    assert "Verhuurcode SCV" in voorbeeld.sources["swev"].columns["toewijzing_id"].headers
    assert "Verhuurcode SCV" not in amersfoort.sources["swev"].columns["toewijzing_id"].headers
    assert amersfoort.vocabularies["besluit"].lookup.get(match_key("Urgentie verleend")) is None
    assert voorbeeld.config_hash != amersfoort.config_hash


def test_example_region_names_itself_in_messages(voorbeeld):
    [(reden,)] = query(voorbeeld, "SELECT reden FROM audit.quarantaine")
    assert "'Amersfoort' is not a gemeente of Regio Voorbeeld" in reden


def test_example_supplier_list_names_the_sources_by_the_region_s_labels(voorbeeld, tmp_path):
    """A source's label is written once (ingest/config/sources.yaml) with the region's own label for its
    cooperating corporations: the example region's supplier list says SCV, never another region's SWEV."""
    out = tmp_path / "lijst.csv"
    result = zygote.run(
        [FAIRSHARE, "quarantaine", "--regio", "voorbeeld", "--warehouse", str(voorbeeld), "--out", str(out)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert [r["Bron"] for r in rows] == ["SCV-toewijzingen"]


# ---- two regions in parallel processes, and the province publication -------------------------------------------


def _clean_env() -> dict[str, str]:
    return clean_env()  # DAGSTER_HOME: conftest's


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# two_regions: a session fixture (tests/conftest.py), shared with the province's tests.


def test_two_regions_run_in_parallel_without_touching_each_others_files(two_regions):
    base, results, before, packs = two_regions
    for regio, (code, out, err) in results.items():
        assert code == 0, (regio, out[-2000:], err[-2000:])
        assert (base / regio / "reports" / "bo_wonen_zorg_2026-12.html").exists()
        assert _digest(base / regio / "landing") == before[regio]  # landing folders are only read
        warehouse = base / regio / "warehouse" / "fairshare.duckdb"
        assert query(warehouse, "SELECT regio_code FROM referentie.regio") == [(regio,)]
        assert query(
            base / regio / "serving" / "fairshare.duckdb", "SELECT regio_code FROM referentie.regio"
        ) == [(regio,)]
    assert _digest(ROOT / "regions") == packs  # dbt never writes into a region pack
    a, v = (base / r / "warehouse" / "fairshare.duckdb" for r in ("amersfoort", "voorbeeld"))
    assert query(a, "SELECT count(*) FROM marts.fair_share_gemeente WHERE gemeente_code LIKE 'GM99%'") == [
        (0,)
    ]
    assert query(v, "SELECT DISTINCT gemeente_code FROM marts.fair_share_gemeente ORDER BY 1") == [
        (f"GM990{i}",) for i in range(1, 6)
    ]
    assert query(v, "SELECT count(DISTINCT groep) FROM marts.ingroeipad") == [(3,)]
    assert query(v, "SELECT DISTINCT commissie FROM marts.urgentie_aanvragen ORDER BY 1") == [
        ("noord",),
        ("zuid",),
    ]
    html = (base / "voorbeeld" / "reports" / "bo_wonen_zorg_2026-12.html").read_text(encoding="utf-8")
    assert "Regio Voorbeeld – voor het Portefeuillehoudersoverleg Wonen van december 2026" in html
    assert "Ingroeipad: Akkerveen en Bosweide, Dijkhoven en Wilgendaal en Voorbeeldstad" in html
    assert "Amersfoort" not in html


def test_two_regions_runs_at_once_are_apart_in_one_dagster_instance(two_regions):
    """Both `fairshare run`s recorded in one instance at the same time (tests/conftest.py two_regions): each region's
    run under its own job, its materialisations and check results under its own keys, none of the other's."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    from orchestration import keys

    base, results, _, _ = two_regions
    assert all(code == 0 for code, _, _ in results.values())
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(base / "dagster_home"))) as instance:
        runs = {r.dagster_run.job_name: r.dagster_run for r in instance.get_run_records()}
        assert set(runs) == {keys.job_name("amersfoort"), keys.job_name("voorbeeld")}
        for regio in ("amersfoort", "voorbeeld"):
            run = runs[keys.job_name(regio)]
            assert run.status == dg.DagsterRunStatus.SUCCESS
            records = instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
            materialised = {r.event_log_entry.dagster_event.asset_key for r in records.records}
            assert keys.asset_key(regio, *keys.PUBLICATION) in materialised and len(materialised) > 30
            assert {k.path[0] for k in materialised} == {regio}
            [gate] = instance.event_log_storage.get_asset_check_execution_history(
                keys.check_key(regio, keys.REPORT, keys.GATE_CHECK), limit=1
            )
            assert gate.run_id == run.run_id and gate.event.asset_check_evaluation.passed


def test_province_publication_holds_both_regions_and_the_reader_sees_only_published_schemas(
    two_regions,
    postgres,  # noqa: F811
):
    base, _, _, _ = two_regions
    dsn, port = postgres
    out = base / "provincie"
    result = zygote.run(
        [FAIRSHARE, "provincie", "--met-fictief", "--out", str(out)]
        + [
            a
            for r in ("amersfoort", "voorbeeld")
            for a in ("--serving", f"{r}={base / r / 'serving' / 'fairshare.duckdb'}")
        ],
        env={
            **_clean_env(),
            "FAIRSHARE_PUBLISH_POSTGRES_DSN": dsn,
            "FAIRSHARE_POSTGRES_READER_PASSWORD": "lezen",
        },
        capture_output=True,
        text=True,
        cwd=base,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    province = out / "fairshare_provincie.duckdb"
    per_region = {
        r: query(base / r / "serving" / "fairshare.duckdb", "SELECT count(*) FROM marts.fair_share")[0][0]
        for r in ("amersfoort", "voorbeeld")
    }
    assert (
        dict(query(province, "SELECT regio_code, count(*) FROM provincie.fair_share GROUP BY 1"))
        == per_region
    )
    assert query(province, "SELECT regio_code FROM provincie.kerncijfers ORDER BY 1") == [
        ("amersfoort",),
        ("voorbeeld",),
    ]
    assert query(province, "SELECT count(*) FROM provincie.dubbel_geteld") == [(0,)]
    [(per_1000,)] = query(
        province, "SELECT per_1000_inwoners FROM provincie.kerncijfers WHERE regio_code = 'voorbeeld'"
    )
    assert per_1000 == pytest.approx(
        1000
        * query(
            province,
            """
        SELECT sum(gehuisvest + gehuisvest_buiten_afspraak) FROM provincie.fair_share
        WHERE regio_code = 'voorbeeld' AND jaar = 2026""",
        )[0][0]
        / 225000
    )
    page = (out / "provincie_overzicht.html").read_text(encoding="utf-8")
    assert "Regio Amersfoort" in page and "Regio Voorbeeld" in page and "per 100 sociale huurwoningen" in page
    reader = f"postgresql://{READER_ROLE}:lezen@127.0.0.1:{port}/postgres"
    with psycopg.connect(reader) as pg:
        rows = pg.execute(
            "SELECT regio_code, count(*) FROM provincie.fair_share GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert dict(rows) == per_region
        visible = {
            s
            for (s,) in pg.execute(
                "SELECT DISTINCT table_schema FROM information_schema.tables WHERE "
                "table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
        }
        assert visible == {"provincie"}


def test_a_region_never_runs_on_another_regions_warehouse(two_regions):
    base, _, _, _ = two_regions
    result = zygote.run(
        [
            FAIRSHARE,
            "run",
            "--regio",
            "voorbeeld",
            "--demo",
            "--landing",
            str(base / "voorbeeld" / "landing"),
            "--reports",
            str(base / "x" / "reports"),
            "--serving",
            str(base / "x" / "serving" / "fairshare.duckdb"),
            "--warehouse",
            str(base / "amersfoort" / "warehouse" / "fairshare.duckdb"),
        ],
        capture_output=True,
        text=True,
        cwd=base,
        env=_clean_env(),
    )
    assert result.returncode == 2
    assert "holds region 'amersfoort', not 'voorbeeld'" in result.stderr


# ---- Dagster: one code location per region ---------------------------------------------------------------------


def test_each_region_is_a_code_location_with_its_own_writer_tag():
    import dagster as dg
    import yaml

    from orchestration import regions
    from orchestration.definitions import defs

    locations = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    assert {loc["python_module"]["location_name"] for loc in locations} == set(region.regions())
    from orchestration import keys

    jobs = {
        r: (defs if r == region.DEFAULT_REGIO else getattr(regions, r)).resolve_job_def(keys.job_name(r))
        for r in region.regions()
    }
    tags = {r: j.tags["fairshare/schrijver"] for r, j in jobs.items()}
    assert tags["amersfoort"] == "warehouse" and tags["voorbeeld"] == "warehouse-voorbeeld"
    assert tags == {
        r: "warehouse" if r == region.DEFAULT_REGIO else f"warehouse-{r}" for r in region.regions()
    }
    config = yaml.safe_load((ROOT / "orchestration" / "dagster-regios.yaml").read_text())
    with dg.instance_for_test(overrides=config) as instance:
        [limit] = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert limit["key"] == "fairshare/schrijver" and limit["value"] == {"applyLimitPerUniqueValue": True}
        assert instance.get_concurrency_config().pool_config.default_pool_limit == len(region.regions())
    with pytest.raises(AttributeError, match="no region pack"):
        regions.nergens  # noqa: B018


def test_a_regions_sensor_waits_only_for_its_own_runs(tmp_path):
    import dagster as dg

    from orchestration import keys
    from orchestration.definitions import build_definitions, writer_tag
    from orchestration.resources import FairshareResource
    from tests.helpers import TOEWIJZINGEN_HEADER, toewijzing_row, write_xlsx

    landing = tmp_path / "landing"
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1, gemeente="Akkerveen")],
    )
    resource = FairshareResource(landing=str(landing), settle_seconds=0, regio="voorbeeld")
    sensor = build_definitions(resource).resolve_sensor_def(keys.sensor_name("voorbeeld"))

    def requests(regio: str) -> list:
        """The sensor's requests while a run of ``regio`` is in progress."""
        with dg.instance_for_test() as instance:
            instance.add_run(
                dg.DagsterRun(
                    job_name=keys.job_name(regio),
                    run_id="lopend",
                    status=dg.DagsterRunStatus.STARTED,
                    tags=writer_tag(regio),
                )
            )
            with dg.build_sensor_context(instance=instance, resources={"fairshare": resource}) as context:
                return sensor.evaluate_tick(context).run_requests

    assert len(requests("amersfoort")) == 1  # the default region's run: this region starts its own
    assert requests("voorbeeld") == []


def test_a_change_in_a_region_pack_means_something_new(tmp_path, monkeypatch):
    """dbt reads the region's seeds at run time: a seed change there must rebuild, like a change in code."""
    import shutil

    import duckdb

    from warehouse import builds

    root = tmp_path / "regions"
    shutil.copytree(ROOT / "regions" / "voorbeeld", root / "voorbeeld")
    monkeypatch.setattr(region, "REGIONS_DIR", root)
    settings = Settings.from_env({}, regio="voorbeeld", warehouse=tmp_path / "w.duckdb")
    with duckdb.connect() as conn:
        conn.execute(
            "CREATE SCHEMA audit; CREATE TABLE audit.bestanden_actueel (pad VARCHAR, status VARCHAR, "
            "inhoud_hash VARCHAR, config_hash VARCHAR)"
        )
        before = builds.fingerprint(conn, settings)
        seed = root / "voorbeeld" / "seeds" / "inwoners.csv"
        seed.write_text(seed.read_text(encoding="utf-8").replace("120000", "121000"), encoding="utf-8")
        assert builds.fingerprint(conn, settings) != before
