"""The landing folder (sources.md §1): which files there are, what their names say, and whether they are whole.

Only regular files inside the landing folder are read: a symbolic link (to a file or a folder)
is ignored with a warning, so nothing outside the folder is ever opened. A file still being
written (its size or modification time changes within the settle interval) waits for the next run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.config import IngestConfig, SourceSpec
from ingest.reasons import Reden, reden


@dataclass(frozen=True)
class LandingFile:
    """One file in a source folder, with what its name says (or why the name is wrong)."""

    bron: str
    path: Path
    pad: str  # relative to the landing folder, with forward slashes
    leverdatum: dt.date | None = None  # extraction date (allocations, registers) or peildatum (planregister)
    commissie: str | None = None
    name_error: Reden | None = None  # why the name is wrong (``ingest.reasons``)

    @property
    def shown(self) -> str:
        """The path as messages and logs show it: a line break or other control character in a name is escaped."""
        return escaped(self.pad)

    @property
    def delivery_key(self) -> tuple:
        """Files with the same delivery key are the same delivery (§1: the second is rejected)."""
        return (self.bron, self.commissie, self.leverdatum)


# The reasons a file is rejected by its name alone (``LandingFile.name_error``): a later run whose clock or
# configuration no longer finds its name wrong reads the file, even with the same content.
NAME_REASONS = frozenset(
    {"file_in_other_folder", "file_name_pattern", "file_name_not_a_date", "file_name_future_date"}
    | {"file_name_unknown_committee"}
)


def escaped(text: str) -> str:
    """Text of a file name made inert for a log or a message line: ``\\n`` for a line break, ``\\x1b`` for escape."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# Extensions of the tables a supplier may deliver: a file whose name has one of these is a delivery (loaded, or
# rejected with a reason the supplier can act on: an .xls, a wrong name, `x.csv.bak`), and so is a file without
# any extension. Any other file (a LEESMIJ.txt, a PDF, a mail) is no data: warned about once, never a delivery.
TABLE_SUFFIXES = (".xlsx", ".csv", ".xls", ".xlsm", ".xlsb", ".ods", ".tsv")


def is_data_file(path: Path) -> bool:
    """Whether a file in a source folder is meant as a delivery (``TABLE_SUFFIXES``, anywhere in its name)."""
    name = path.name.lower()
    return not path.suffix or any(suffix in name for suffix in TABLE_SUFFIXES)


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


def describe(
    bron: str,
    path: Path,
    landing: Path,
    source: SourceSpec,
    config: IngestConfig,
    today: dt.date | None = None,
) -> LandingFile:
    """Check a file's name against its folder's pattern and read the date (and committee) from it.

    A date after ``today`` (the day of the run) is a typing error: the file is rejected, so it
    can never move the peildatum.
    """
    pad = path.relative_to(landing).as_posix()
    m = re.fullmatch(
        source.pattern, path.name
    )  # fullmatch: a pattern's `$` also matches before a final line break
    # The name itself is a parameter for the data engineer's English only: the supplier's list shows it
    # in its own column, and a name is whatever the supplier typed.
    naam = {"naam": escaped(path.name), **_pattern_params(source, config)}
    if not m:
        other = _folder_it_belongs_in(path.name, bron, config)
        if other:
            return LandingFile(
                bron, path, pad, name_error=reden("file_in_other_folder", folder=other, **naam)
            )
        return LandingFile(bron, path, pad, name_error=reden("file_name_pattern", **naam))
    groups = m.groupdict()
    try:
        if bron == "planregister":
            datum = peildatum_of(int(groups["jaar"]), int(groups["maand"]))
        else:
            datum = dt.date.fromisoformat(groups["datum"])
    except ValueError:
        return LandingFile(bron, path, pad, name_error=reden("file_name_not_a_date", **naam))
    today = today or dt.date.today()
    # A planregister snapshot is named by its month (filled in during that month), the others by their day.
    future = (
        (datum.year, datum.month) > (today.year, today.month) if bron == "planregister" else datum > today
    )
    if future:
        shown = f"{datum.year}-{datum.month:02d}" if bron == "planregister" else datum.isoformat()
        return LandingFile(
            bron,
            path,
            pad,
            name_error=reden("file_name_future_date", date=shown, today=today.isoformat()),
        )
    commissie = groups.get("commissie")
    if commissie is not None and commissie not in config.commissies:
        other = _folder_it_belongs_in(path.name, bron, config)  # toewijzingen_<date> in urgentie/
        if other:
            return LandingFile(
                bron, path, pad, name_error=reden("file_in_other_folder", folder=other, **naam)
            )
        return LandingFile(
            bron, path, pad, name_error=reden("file_name_unknown_committee", commissie=commissie, **naam)
        )
    return LandingFile(bron, path, pad, leverdatum=datum, commissie=commissie)


def _folder_it_belongs_in(name: str, bron: str, config: IngestConfig) -> str | None:
    """The folder (``planregister/``) of another source whose pattern this name follows, if any."""
    for other, spec in config.sources.items():
        if other != bron and re.fullmatch(spec.pattern, name):
            return f"{spec.folder}/"
    return None


_COMMITTEES = ", commissie one of: "  # how sources.yaml's pattern_text lists the committees


def _pattern_params(source: SourceSpec, config: IngestConfig) -> dict:
    """The pattern as a reason shows it: its text, and the region's committees as a list of their own."""
    pattern, sep, rest = source.pattern_text.partition(_COMMITTEES)
    if not sep or rest != ", ".join(config.commissies):
        return {"pattern": source.pattern_text, "committees": None}
    return {"pattern": pattern, "committees": reden("committee_list", commissies=list(config.commissies))}


def candidates(
    landing: Path, folder_name: str, pattern: str | None = None
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Regular files of one source folder (lock and hidden files skipped), and (pad, warning) for what was ignored.

    A symbolic link, or anything that resolves outside the landing folder, is never read. A hidden file
    or a folder whose name follows the source's ``pattern`` (``.toewijzingen_2026-11-01.csv``, a folder
    ``toewijzingen_2026-11-01.csv/``) looks like a delivery to whoever put it there: it is ignored with a warning.
    """
    folder = landing / folder_name
    if folder.is_symlink():
        return [], [
            (
                f"{folder_name}/",
                f"{folder_name}/ is a symbolic link: ignored (the landing folder must hold the files itself)",
            )
        ]
    if not folder.is_dir():
        return [], []
    root = landing.resolve()
    files, ignored = [], []

    def delivery_like(name: str) -> bool:
        return pattern is not None and re.fullmatch(pattern, name) is not None

    for p in sorted(folder.iterdir()):
        pad = p.relative_to(landing).as_posix()
        shown = escaped(pad)
        if p.name.startswith(("~$", ".")):
            if delivery_like(p.name[1:]):
                ignored.append(
                    (
                        pad,
                        f"{shown} is a hidden file (its name starts with '.'): ignored "
                        "(remove the '.' to load it)",
                    )
                )
            continue
        if p.is_symlink() or not p.resolve().is_relative_to(root):
            ignored.append(
                (pad, f"{shown} is a symbolic link: ignored (copy the file itself into the landing folder)")
            )
        elif p.is_file():
            files.append(p)
        elif delivery_like(p.name):
            what = "a folder" if p.is_dir() else "not a regular file"
            ignored.append((pad, f"{shown} is {what}, not a file: ignored"))
    return files, ignored


def scan(landing: Path, config: IngestConfig, bron: str, today: dt.date | None = None) -> list[LandingFile]:
    """The deliveries of one source folder in load order (by date, then name); lock, hidden and linked files
    skipped, and files that are no data (``is_data_file``, see ``not_data``)."""
    paths, _ = candidates(landing, config.sources[bron].folder)
    files = [
        describe(bron, p, landing, config.sources[bron], config, today) for p in paths if is_data_file(p)
    ]
    return sorted(files, key=lambda f: (f.leverdatum or dt.date.min, f.pad))


def not_data(landing: Path, folder_name: str) -> list[Path]:
    """The regular files of a source folder that are no data (``is_data_file``): never read as a delivery."""
    paths, _ = candidates(landing, folder_name)
    return [p for p in paths if not is_data_file(p)]


def _signature(path: Path) -> tuple[int, int, int] | None:
    """Size, modification and change time: a copy may keep the source's mtime (cp -p), never its ctime."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


def still_changing(paths: list[Path], settle: float) -> dict[Path, str]:
    """Files whose size or modification time changes within ``settle`` seconds: not complete yet.

    Only files modified or changed (ctime) less than ``settle`` seconds ago are watched (once, for the whole list),
    and only for what is left of the interval: a file last changed 2 s ago has kept its size and time for 3 s once it
    is unchanged a second later (every write moves its ctime, even a copy that keeps the mtime). Older files are
    taken as complete at once, so a run over settled files never waits.
    """
    if settle <= 0 or not paths:
        return {}
    before = {p: _signature(p) for p in paths}
    now = time.time_ns()
    changed = {p: max(sig[1], sig[2]) for p, sig in before.items() if sig is not None}
    young = [p for p, at in changed.items() if now - at < settle * 1e9]
    if young:
        # A change time in the future (a clock set back, a file from another machine) waits the whole interval.
        time.sleep(min(settle, settle - (now - max(changed[p] for p in young)) / 1e9))
    changing = {}
    for p in young:
        after = _signature(p)
        if after != before[p]:
            changing[p] = (
                f"still being written (its size or time changed within {settle:g}s): left for the next run"
            )
    return changing
