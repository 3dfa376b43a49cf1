"""One reader of seed csv files (basics.seeds), used by the region pack, the ingest configuration and the sample."""

from __future__ import annotations

import shutil
from pathlib import Path

from basics import region, seeds
from ingest.config import load_config
from tools.sample import model

ROOT = Path(__file__).resolve().parents[1]


def _pack_saved_by_excel(tmp_path: Path) -> Path:
    """A copy of the example region whose every seed has the byte order mark of Excel's "CSV UTF-8"."""
    root = tmp_path / "regions"
    shutil.copytree(ROOT / "regions" / "voorbeeld", root / "voorbeeld")
    for seed in (root / "voorbeeld" / "seeds").glob("*.csv"):
        seed.write_bytes(b"\xef\xbb\xbf" + seed.read_bytes())
    return root


def test_a_seed_reads_the_same_with_or_without_a_byte_order_mark(tmp_path):
    plain = ROOT / "regions" / "voorbeeld" / "seeds" / "gemeenten.csv"
    marked = tmp_path / "gemeenten.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    rows = seeds.read(plain)
    assert rows and "gemeente_code" in rows[0]
    assert seeds.read(marked) == rows
    header, count = seeds.header_and_count(marked)
    assert header == list(rows[0]) and count == len(rows)


def test_a_pack_saved_by_excel_gives_the_same_reference_to_every_reader(tmp_path, monkeypatch):
    """The sample read its seeds as plain UTF-8: a pack saved by Excel broke `fairshare sample` (KeyError)."""
    before = (
        model.load_reference("voorbeeld"),
        load_config(regio="voorbeeld"),
        region.load_regio("voorbeeld"),
    )
    monkeypatch.setattr(region, "REGIONS_DIR", _pack_saved_by_excel(tmp_path))
    region.check_pack("voorbeeld")  # every seed present with its columns, regio.csv one row
    reference = model.load_reference("voorbeeld")
    config = load_config(regio="voorbeeld")
    pack = region.load_regio("voorbeeld")
    assert reference.gemeenten == before[0].gemeenten and reference.targets == before[0].targets
    assert (reference.samenwerkend, reference.funnel, reference.regio_naam) == (
        before[0].samenwerkend,
        before[0].funnel,
        before[0].regio_naam,
    )
    assert (config.gemeenten, config.woonplaatsen, config.corporaties) == (
        before[1].gemeenten,
        before[1].woonplaatsen,
        before[1].corporaties,
    )
    assert (pack.code, pack.naam, pack.commissies) == (before[2].code, before[2].naam, before[2].commissies)


def test_a_national_seed_is_read_where_the_pack_has_none():
    rows = region.read_seed("huurgrenzen.csv", "voorbeeld")
    assert rows == seeds.read(ROOT / "dbt_project" / "seeds" / "huurgrenzen.csv")
    assert not (ROOT / "regions" / "voorbeeld" / "seeds" / "huurgrenzen.csv").exists()
