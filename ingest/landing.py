"""The landing folder (sources.md §1): which files there are and what their names say."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.config import IngestConfig, SourceSpec

SOURCES = ("swev", "urgentie", "planregister")


@dataclass(frozen=True)
class LandingFile:
    """One file in a source folder, with what its name says (or why the name is wrong)."""

    bron: str
    path: Path
    pad: str  # relative to the landing folder, with forward slashes
    leverdatum: dt.date | None = None  # extraction date (swev, urgentie) or peildatum (planregister)
    commissie: str | None = None
    name_error: str | None = None

    @property
    def delivery_key(self) -> tuple:
        """Files with the same delivery key are the same delivery (§1: the second is rejected)."""
        return (self.bron, self.commissie, self.leverdatum)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes (streamed, so large csv files do not fill memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def peildatum_of(year: int, month: int) -> dt.date:
    """`YYYY-03` -> 31 March, `YYYY-10` -> 31 October."""
    return dt.date(year, 3, 31) if month == 3 else dt.date(year, 10, 31)


def describe(bron: str, path: Path, landing: Path, source: SourceSpec, config: IngestConfig) -> LandingFile:
    """Check a file's name against its folder's pattern and read the date (and committee) from it."""
    pad = path.relative_to(landing).as_posix()
    m = re.match(source.pattern, path.name)
    error = f"file name '{path.name}' does not follow the pattern {source.pattern_text}"
    if not m:
        return LandingFile(bron, path, pad, name_error=error)
    groups = m.groupdict()
    try:
        if bron == "planregister":
            datum = peildatum_of(int(groups["jaar"]), int(groups["maand"]))
        else:
            datum = dt.date.fromisoformat(groups["datum"])
    except ValueError:
        return LandingFile(bron, path, pad, name_error=f"{error} (not a real date)")
    commissie = groups.get("commissie")
    if commissie is not None and commissie not in config.commissies:
        return LandingFile(bron, path, pad, name_error=f"{error} ('{commissie}' is not a known committee)")
    return LandingFile(bron, path, pad, leverdatum=datum, commissie=commissie)


def scan(landing: Path, config: IngestConfig, bron: str) -> list[LandingFile]:
    """The files of one source folder in load order (by date, then name); lock and hidden files skipped."""
    folder = landing / config.sources[bron].folder
    if not folder.is_dir():
        return []
    files = [describe(bron, p, landing, config.sources[bron], config) for p in folder.iterdir()
             if p.is_file() and not p.name.startswith(("~$", "."))]
    return sorted(files, key=lambda f: (f.leverdatum or dt.date.min, f.pad))
