"""The marts as dbt declares them: their names, order and grain, read from the dbt manifest.

The list of marts and each mart's grain are written once, in ``dbt_project/models/marts/_marts__models.yml``
(``config.meta.grain``, ``meta.volgorde``); ``make install`` runs ``dbt parse``, which writes the manifest this
module reads. It is read when first asked for, never at import, and never runs dbt.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from basics.paths import MANIFEST


class ManifestMissing(RuntimeError):
    """The dbt manifest has not been built (``make install`` runs ``dbt parse``)."""


@dataclass(frozen=True)
class Mart:
    """One mart of the public contract (spec/marts.md): its name, grain and description."""

    name: str
    grain: tuple[str, ...]
    description: str
    not_null: frozenset[str] = frozenset()  # the columns with a not_null constraint: never empty by contract


@functools.cache
def marts(manifest: Path = MANIFEST) -> tuple[Mart, ...]:
    """Every model of the marts folder, in the order of ``meta.volgorde`` (the spec's and the workbook's)."""
    try:
        nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"]
    except FileNotFoundError:
        raise ManifestMissing(
            f"the dbt manifest {manifest} is missing: run make install (it runs dbt parse)"
        ) from None
    found = [
        n
        for n in nodes.values()
        if n["resource_type"] == "model" and n["package_name"] == "fairshare" and n["fqn"][1:2] == ["marts"]
    ]
    for n in found:
        meta = n["config"].get("meta") or {}
        if not meta.get("grain") or "volgorde" not in meta:
            raise ValueError(
                f"mart {n['name']} has no meta.grain and meta.volgorde in its yml ({n['patch_path']})"
            )
    found.sort(key=lambda n: n["config"]["meta"]["volgorde"])
    return tuple(
        Mart(n["name"], tuple(n["config"]["meta"]["grain"]), n.get("description") or "", _not_null(n))
        for n in found
    )


def _not_null(node: dict) -> frozenset[str]:
    """The columns the contract declares not null (a ``not_null`` constraint, enforced when dbt builds the table)."""
    return frozenset(
        name
        for name, column in node.get("columns", {}).items()
        if any(c.get("type") == "not_null" for c in column.get("constraints") or ())
    )


def mart_names(manifest: Path = MANIFEST) -> list[str]:
    """The marts' names in their order."""
    return [m.name for m in marts(manifest)]
