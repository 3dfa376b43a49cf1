"""dbt docs for their readers: the project's overview page and the exposures (where the marts go, with owners),
read from the manifest that a real `dbt parse` writes (the same manifest `dbt docs generate` renders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def manifest() -> dict:
    """The manifest `make install` (and so `make test`) writes with a real `dbt parse` of the current project: the
    Makefile parses again whenever a model, yml or seed changed (its MANIFEST rule)."""
    return json.loads((ROOT / "dbt_project" / "target" / "manifest.json").read_text(encoding="utf-8"))


def _names(manifest: dict, kind: str, schema: str | None = None) -> set[str]:
    return {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == kind and (schema is None or n["schema"].endswith(schema))
    }


def test_overview_page_replaces_dbts_welcome_page(manifest):
    [overview] = [
        d
        for d in manifest["docs"].values()
        if d["name"] == "__overview__" and d["package_name"] == "fairshare"
    ]
    text = overview["block_contents"]
    assert "fairshare" in text and "dbt_project/" in text
    for layer in ("staging", "intermediate", "marts", "info", "referentie"):
        assert f"`{layer}`" in text, layer
    for target in (
        "bo_wonen_zorg_",
        "data/serving/fairshare.duckdb",
        "PostgreSQL",
        "provincie_overzicht.html",
    ):
        assert target in text, target


def test_exposures_name_every_reader_of_the_marts_with_an_owner(manifest):
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {
        "bo_rapport",
        "gepubliceerde_kopie",
        "postgresql_publicatie",
        "provinciale_pagina",
    }
    marts, seeds = _names(manifest, "model", "marts"), _names(manifest, "seed")
    assert len(marts) == 15 and seeds

    def parents(name: str) -> set[str]:
        return {manifest["nodes"][u]["name"] for u in exposures[name]["depends_on"]["nodes"]}

    for name, exposure in exposures.items():
        assert exposure["owner"]["name"] and exposure["description"] and exposure["label"], name
    assert parents("bo_rapport") == marts  # one sheet per mart in the workbook
    # The published copy and PostgreSQL carry every mart and every seed (warehouse/publish.py SCHEMAS).
    assert parents("gepubliceerde_kopie") == parents("postgresql_publicatie") == marts | seeds
    assert {"fair_share", "fair_share_gemeente", "inwoners", "sociale_huurvoorraad"} <= parents(
        "provinciale_pagina"
    )
