"""History per peildatum: two builds at two peildata leave both in `historie` and a correct verschillen_sinds_vorige."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.config import load_config
from ingest.text import match_key
from tests.helpers import demo_run, query

ROOT = Path(__file__).resolve().parents[1]


def _run(landing: Path, base: Path) -> subprocess.CompletedProcess:
    return demo_run(landing, base / "warehouse" / "fairshare.duckdb", base / "reports")


def _correct_one_2025_allocation(path: Path) -> None:
    """The November delivery withdraws the urgency of one 2025 allocation in Amersfoort: a correction."""
    config = load_config()  # the sample spells codes in any of their accepted ways: read them as ingest does
    categorie = config.vocabularies["urgentiecategorie"].lookup
    route = config.vocabularies["toewijzingsroute"].lookup

    def means(lookup: dict[str, str], raw: bytes) -> str | None:
        return lookup.get(match_key(raw.decode("latin-1")))

    lines = path.read_bytes().split(b"\r\n")
    for i, line in enumerate(lines[1:], start=1):
        f = line.split(b";")
        if (
            len(f) > 10
            and f[3].endswith(b"/2025")
            and means(categorie, f[9]) == "medisch"
            and means(config.gemeente_lookup, f[2]) == "GM0307"  # Amersfoort
            and means(route, f[8]) != "statushouder"  # Statushouder or Vergunninghouder
        ):
            f[9] = b""
            lines[i] = b";".join(f)
            path.write_bytes(b"\r\n".join(lines))
            return
    raise AssertionError("no 2025 Medisch allocation in Amersfoort in the sample")


@pytest.fixture(scope="module")
def two_builds(sample_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("historie")
    landing, later = base / "landing", base / "later"
    shutil.copytree(sample_run[1], landing)
    later.mkdir()
    for p in [
        p for p in landing.rglob("*") if p.is_file() and ("2026-11-03" in p.name or "2026-10" in p.name)
    ]:
        shutil.move(p, later / f"{p.parent.name}__{p.name}")
    first = _run(landing, base)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for p in later.iterdir():
        folder, name = p.name.split("__")
        shutil.move(p, landing / folder / name)
    _correct_one_2025_allocation(next((landing / "swev").glob("toewijzingen_2026-11-03.csv")))
    second = _run(landing, base)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return base


def test_both_reports_are_kept_in_historie(two_builds):
    warehouse = two_builds / "warehouse" / "fairshare.duckdb"
    served = two_builds / "serving" / "fairshare.duckdb"
    for path in (warehouse, served):
        for table in ("fair_share", "fair_share_gemeente", "ouderenhuisvesting", "verdeelsleutels"):
            peildata = [
                str(p)
                for (p,) in query(path, f"SELECT DISTINCT rapport_peildatum FROM historie.{table} ORDER BY 1")
            ]
            assert peildata == ["2026-04-01", "2026-11-01"], (path, table)
    # the latest report's history equals its marts
    now = query(
        warehouse,
        "SELECT * EXCLUDE (rapport_peildatum) FROM historie.fair_share_gemeente "
        "WHERE rapport_peildatum = DATE '2026-11-01' ORDER BY gemeente_code, jaar",
    )
    assert now == query(warehouse, "SELECT * FROM marts.fair_share_gemeente ORDER BY gemeente_code, jaar")
    # and the earlier report keeps its own figures: 2026 had 3 months of data then
    assert {
        m
        for (m,) in query(
            warehouse,
            "SELECT DISTINCT maanden_data FROM historie.fair_share_gemeente "
            "WHERE rapport_peildatum = DATE '2026-04-01' AND jaar = 2026",
        )
    } == {3}


def test_verschillen_sinds_vorige_equals_the_two_reports_compared(two_builds):
    warehouse = two_builds / "warehouse" / "fairshare.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        fsg = conn.execute(
            "SELECT rapport_peildatum, gemeente_code, jaar, gehuisvest, toewijzingen "
            "FROM historie.fair_share_gemeente"
        ).df()
        diff = conn.execute(
            "SELECT * FROM historie.verschillen_sinds_vorige WHERE mart = 'fair_share_gemeente'"
        ).df()
    old = fsg[fsg["rapport_peildatum"] == pd.Timestamp("2026-04-01")].set_index(["gemeente_code", "jaar"])
    new = fsg[fsg["rapport_peildatum"] == pd.Timestamp("2026-11-01")].set_index(["gemeente_code", "jaar"])
    for kenmerk in ("gehuisvest", "toewijzingen"):
        joined = new[[kenmerk]].join(old[[kenmerk]], how="outer", rsuffix="_vorige")
        changed = joined[joined[kenmerk].fillna(-1) != joined[f"{kenmerk}_vorige"].fillna(-1)]
        got = diff[diff["kenmerk"] == kenmerk].set_index(["gemeente_code", "jaar"]).sort_index()
        assert sorted(got.index) == sorted(changed.index), kenmerk
        for key, row in changed.iterrows():
            assert got.loc[key, "verschil"] == row[kenmerk] - (
                0 if pd.isna(row[f"{kenmerk}_vorige"]) else row[f"{kenmerk}_vorige"]
            )
            soort = (
                "nieuw"
                if pd.isna(row[f"{kenmerk}_vorige"])
                else ("correctie" if key[1] < 2026 else "lopend_jaar")
            )
            assert got.loc[key, "soort"] == soort
    # the corrected allocation shows as a correction to 2025 for Amersfoort
    amersfoort = diff[
        (diff["gemeente_code"] == "GM0307") & (diff["jaar"] == 2025) & (diff["kenmerk"] == "gehuisvest")
    ]
    assert list(amersfoort["soort"]) == ["correctie"] and list(amersfoort["verschil"]) == [-1.0]
    assert set(diff["rapport_peildatum"].dt.date.astype(str)) == {"2026-11-01"}


def test_report_lists_the_corrections(two_builds):
    html = (two_builds / "reports" / "bo_wonen_zorg_2026-12.html").read_text(encoding="utf-8")
    assert '<section id="correcties">' in html
    section = html.split('<section id="correcties">')[1].split("</section>")[0]
    assert "Amersfoort" in section and "2025" in section and "1 april 2026" in section


def test_each_report_has_its_own_data_docs_folder(two_builds):
    """May and December each get their GX Data Docs, with one run of every suite in each overview."""
    gx = two_builds / "reports" / "gx"
    assert sorted(p.name for p in gx.iterdir()) == ["bo_wonen_zorg_2026-05", "bo_wonen_zorg_2026-12"]
    for stem, peildatum in (
        ("bo_wonen_zorg_2026-05", "1 april 2026"),
        ("bo_wonen_zorg_2026-12", "1 november 2026"),
    ):
        page = gx / stem / "gx" / "uncommitted" / "data_docs" / "local_site" / "overzicht.html"
        text = page.read_text(encoding="utf-8")
        assert f"Kwaliteitscontroles {stem} (peildatum {peildatum})" in text
        assert text.count("<tr data-run=") == 1 and text.count('data-geslaagd="true"') == 5
