"""Where the repository's own files are: the one place that knows the tree's layout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"  # the national seeds (a region's own are in its pack)
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
REGIONS_DIR = ROOT / "regions"
