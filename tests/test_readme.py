"""The README's example queries for the province run against the published sample copy and return rows."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
QUERIES = re.findall(r"```sql\n(-- voorbeeld:.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_example_queries():
    assert len(QUERIES) >= 4


@pytest.mark.parametrize("sql", QUERIES, ids=[q.splitlines()[0][14:60] for q in QUERIES])
def test_example_query_runs_on_the_published_copy(sample_run, sql):
    _, _, warehouse, result = sample_run
    assert result.returncode == 0
    served = warehouse.parent.parent / "serving" / "fairshare.duckdb"
    with duckdb.connect(str(served), read_only=True) as conn:
        rows = conn.execute(sql).fetchall()
    assert rows, sql
