"""dbt-duckdb plugin: attach the run's warehouse file to dbt's connection (dbt_project/profiles.yml, `plugins`).

The warehouse path is read from FAIRSHARE_WAREHOUSE when dbt connects, not written into the profile: dbt keys its
saved parse (partial parsing) on the rendered connection settings, so a path in the profile made every new
warehouse parse the whole project again (3-6 s) and no warehouse could start from the parse `make install` left.
The profile keeps an `attach` entry under the same alias only because dbt-duckdb requires the profile's database
to name an attachment; its path does not exist, and dbt-duckdb attaches it `IF NOT EXISTS`, after this plugin, so
it never takes effect — and fails loudly should the plugin ever not run.
"""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin

ALIAS = "fairshare"  # the catalog name the profile's `database` and every model use
DEFAULT = "../data/warehouse/fairshare.duckdb"  # relative to dbt_project/, as dbt runs there


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Plugin(BasePlugin):
    """Attaches FAIRSHARE_WAREHOUSE as ``fairshare`` and spills beside it (``<warehouse>.tmp``), as DuckDB does for
    a database file it opens itself."""

    def configure_connection(self, conn) -> None:  # noqa: ANN001 (a duckdb connection)
        path = os.environ.get("FAIRSHARE_WAREHOUSE") or DEFAULT
        if path != ":memory:":  # sqlfluff compiles against an in-memory warehouse (Makefile, lint)
            conn.execute(f"SET temp_directory = {_literal(path + '.tmp')}")
        conn.execute(f"ATTACH IF NOT EXISTS {_literal(path)} AS {ALIAS}")
