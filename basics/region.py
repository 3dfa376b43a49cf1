"""The region a run serves: a folder of data, ``regions/<regio>/`` (README, "Adopting fairshare for your region").

Everything region-specific lives there: its seeds (gemeenten, committees, corporations, targets, ingroeipad
groups, counting exceptions, distribution keys, ...) and the calibration of its sample. Code asks this module
for the region's folder and identity; it never names a region itself. The region is chosen per run
(``--regio`` / ``FAIRSHARE_REGIO``); without a choice it is ``DEFAULT_REGIO``.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from basics import besluitregels, paths, seeds, telregels

REGIONS_DIR = paths.REGIONS_DIR
# The seeds dbt loads, each with its columns: the national ones beside this file, every other one from the pack.
SEEDS_SPEC = paths.SEEDS_DIR / "_seeds.yml"
DEFAULT_REGIO = "amersfoort"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# libyaml where PyYAML has it: _seeds.yml is read before every run (pure-Python parsing took 0.4 s of it).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnknownRegion(ValueError):
    """A region code without a folder under ``regions/``."""


class BadPack(ValueError):
    """A region pack without a seed file dbt needs, or with a header that lacks one of its columns."""


def regions(root: Path | None = None) -> list[str]:
    """The region codes that have a pack (a folder with ``seeds/regio.csv``), sorted."""
    root = root or REGIONS_DIR
    return sorted(p.parent.parent.name for p in root.glob("*/seeds/regio.csv"))


def current(env: dict[str, str] | None = None) -> str:
    """The region of this process: FAIRSHARE_REGIO when set (read at call time), else the default."""
    env = os.environ if env is None else env
    return env.get("FAIRSHARE_REGIO") or DEFAULT_REGIO


def regio_dir(regio: str | None = None, root: Path | None = None) -> Path:
    """The folder of a region (``regions/<regio>``); an unknown code names the known ones."""
    regio = regio or current()
    root = root or REGIONS_DIR
    path = root / regio
    if not _CODE.match(regio) or not (path / "seeds" / "regio.csv").is_file():
        raise UnknownRegion(
            f"unknown region '{regio}': known regions are {', '.join(regions(root)) or 'none'} "
            f"(a region is a folder {root}/<regio>/ with seeds/regio.csv)"
        )
    return path


def seeds_dir(regio: str | None = None) -> Path:
    """The region's dbt seeds (dbt reads them through FAIRSHARE_REGIO_DIR, dbt_project.yml)."""
    return regio_dir(regio) / "seeds"


def read_seed(name: str, regio: str | None = None) -> list[dict[str, str]]:
    """A seed of the region (``regions/<regio>/seeds``), else the national one (``dbt_project/seeds``), as rows
    of text (``basics.seeds``)."""
    path, national = seeds_dir(regio) / name, paths.SEEDS_DIR / name
    return seeds.read(national if national.exists() and not path.exists() else path)


@dataclass(frozen=True)
class Regio:
    """A region's identity and committees, as its seeds state them."""

    code: str
    naam: str
    provincie: str
    bestuur: str
    samenwerkend_label: str
    commissies: tuple[dict[str, str], ...]
    path: Path
    fictief: bool = False  # a made-up region: its report says "fictief — geen echte cijfers" on every page
    contact: str = ""  # who answers questions about the report (the colofon); optional column

    @property
    def commissie_keys(self) -> tuple[str, ...]:
        return tuple(c["commissie"] for c in self.commissies)


def load_regio(regio: str | None = None) -> Regio:
    """The region pack's ``regio.csv`` (one row) and ``commissies.csv``."""
    path = regio_dir(regio)
    [row] = read_seed("regio.csv", path.name)
    return Regio(
        code=row["regio_code"],
        naam=row["regio_naam"],
        provincie=row["provincie"],
        bestuur=row["bestuur"],
        samenwerkend_label=row["samenwerkend_label"],
        commissies=tuple(read_seed("commissies.csv", path.name)),
        path=path,
        fictief=seeds.flag(row.get("fictief") or "false"),
        contact=row.get("contact") or "",
    )


def check_pack(regio: str | None = None) -> None:
    """Every seed the dbt project declares (``SEEDS_SPEC``) for a region is in its pack, readable as UTF-8 csv,
    with every declared column in its header; ``regio.csv`` has one row; an optional ``besluitpunten.yaml`` has
    only known keys and values in range. Raises ``BadPack`` naming the file.

    A run checks this before it reads anything: without it, a missing seed stops dbt only after all of ingest.
    """
    path = regio_dir(regio)
    national = {p.stem for p in SEEDS_SPEC.parent.glob("*.csv")}
    for seed in yaml.load(SEEDS_SPEC.read_text(encoding="utf-8"), Loader=_LOADER)["seeds"]:
        if seed["name"] in national:
            continue
        declared = seed.get("columns", [])
        wanted = [c["name"] for c in declared if not (c.get("meta") or {}).get("optioneel")]
        file = path / "seeds" / f"{seed['name']}.csv"
        if not file.is_file():
            raise BadPack(
                f"the region pack {path} has no seed file seeds/{file.name} (columns "
                f"{', '.join(wanted)}): every region needs it, see another region's pack for an example"
            )
        try:
            header, count = seeds.header_and_count(file)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise BadPack(f"the seed file {file} cannot be read as UTF-8 csv: {exc}") from exc
        missing = [c for c in wanted if c not in header]
        if missing:
            raise BadPack(
                f"the seed file {file} lacks the column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} in its header (expected {', '.join(wanted)}; found "
                f"{', '.join(header) or 'no header'})" + _hint(seed)
            )
        if seed["name"] == "regio" and count != 1:
            raise BadPack(f"the seed file {file} must hold one row (the region), not {count}")
        if seed["name"] == "regio":
            _check_regio_values(file)
        if seed["name"] == telregels.SEED:  # the counting rules' years and reasons (basics/telregels.py)
            try:
                telregels.check(file)
            except telregels.BadRule as exc:
                raise BadPack(str(exc)) from exc
    try:  # the optional rules for the board's besluitpunten: a typo stops the run before anything is read
        besluitregels.load(path)
    except besluitregels.BadRules as exc:
        raise BadPack(str(exc)) from exc


def _hint(seed: dict) -> str:
    """How to upgrade a seed whose header predates a change (``config.meta.kopregel_hint`` in _seeds.yml)."""
    hint = ((seed.get("config") or {}).get("meta") or {}).get("kopregel_hint")
    return f": {hint}" if hint else ""


# Optional columns of regio.csv whose value must be a flag (empty counts as false).
REGIO_FLAGS = ("fictief",)


def _check_regio_values(file: Path) -> None:
    """regio.csv's flags are ``true``, ``false`` or empty: anything else names the file, line and column."""
    [row] = [r for r in seeds.read(file) if any(r.values())]
    for column in REGIO_FLAGS:
        value = (row.get(column) or "").strip()
        if value not in ("", "true", "false"):
            raise BadPack(
                f"the seed file {file}, line 2, column {column}: '{value}' is not true or false "
                "(true marks a made-up region: its report says so on every page)"
            )
