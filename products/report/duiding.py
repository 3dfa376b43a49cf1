"""Context from the region (*duiding*, afsprakenkader §5.6): notes per peildatum, shown beside the figures.

The region's staff write one plain file per peildatum, ``duiding_<YYYY-MM-DD>.md`` in the folder
``FAIRSHARE_DUIDING`` (README, "Context from the region"): an optional title (``# ...``), text before the first
section (a general note), then ``## <section>`` with its note and optionally ``### <gemeente>`` with a note on one
gemeente. The sections and the headings accepted for each are in products/report/duiding.yaml.

A note that cannot be placed (an unknown section or gemeente, a heading or title naming another peildatum, what
looks like personal data) is left out with a message naming file, line and heading; such messages go to the run
summary as warnings and never stop the run (in the spirit of sources.md §6: the rest of the file is shown).
Headings are echoed as ``ingest.privacy`` allows (verbatim when a near miss of a known heading, else reduced).
``keep`` stores the notes shown with the report in ``historie.duiding`` (one set per report peildatum).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from basics import progress
from basics.dutch import MAANDEN, datum_nl
from ingest import privacy
from ingest.text import clean, match_key

DUIDING_CONFIG = Path(__file__).with_name("duiding.yaml")
_HEADING = re.compile(r"^(#{1,3})(?!#)\s*(.*?)\s*#*\s*$")
_NUMBER = re.compile(r"^\s*\d+[.)]?\s+")  # "1. Fair share per gemeente": the report's numbering
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DATE_NUM = re.compile(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\b")
_DATE_NL = re.compile(r"\b(\d{1,2})\s+(" + "|".join(MAANDEN) + r")\s+(\d{4})\b", re.IGNORECASE)
# What a note for the board must not hold (sources.md §5): an e-mail address, a long number (a BSN, a phone or
# registration number), a postcode with a house number.
_PERSONAL = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "an e-mail address"),
    (
        re.compile(r"(?<![\d,.])(?:\d{9,}|0\d{1,3}[- ]\d{6,8})(?![\d,.])"),
        "a long number (a BSN or phone number?)",
    ),
    (re.compile(r"\b\d{4}\s?[A-Z]{2}\s+\d+", re.UNICODE), "a postcode with a house number"),
)
TABLE = "historie.duiding"
TABLE_COMMENT = (
    "De duiding van de regio bij elk rapport: per rapport_peildatum de notities die het rapport naast de "
    "cijfers toonde (per sectie en eventueel per gemeente)."
)
COLUMNS = {
    "rapport_peildatum": ("DATE", "Peildatum van het BO-rapport waarin de notitie stond."),
    "sectie": ("VARCHAR", "De sectie van het rapport waar de notitie bij staat (het id in het rapport)."),
    "gemeente_code": (
        "VARCHAR",
        "CBS-code van de gemeente waar de notitie over gaat; leeg voor de hele sectie.",
    ),
    "gemeente_naam": ("VARCHAR", "Naam van de gemeente; leeg voor de hele sectie."),
    "tekst": ("VARCHAR", "De notitie zoals de regio haar schreef (alinea's gescheiden door een lege regel)."),
    "bestand": ("VARCHAR", "Het bestand met de duiding (alleen de naam)."),
    "regel": ("INTEGER", "De regel van het kopje van de notitie in dat bestand."),
}


@functools.cache
def duiding_config() -> dict:
    """The sections a note can be about, and the file name (products/report/duiding.yaml)."""
    return yaml.safe_load(DUIDING_CONFIG.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Notitie:
    """One note: the section it is about, the gemeente (or None for the whole section), its text and line."""

    sectie: str
    gemeente_code: str | None
    tekst: str
    regel: int

    @property
    def alineas(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.tekst) if p.strip()]


@dataclass
class Duiding:
    """The notes of one peildatum as the report shows them, and the messages on what was left out."""

    bestand: Path | None = None
    notities: list[Notitie] = field(default_factory=list)
    meldingen: list[str] = field(default_factory=list)

    def sectie(self, sectie: str) -> Notitie | None:
        """The note on a whole section, if any."""
        return next((n for n in self.notities if n.sectie == sectie and n.gemeente_code is None), None)

    def per_gemeente(self, sectie: str, volgorde: dict[str, int] | None = None) -> list[Notitie]:
        """The notes on gemeenten in a section, in the report's gemeente order."""
        found = [n for n in self.notities if n.sectie == sectie and n.gemeente_code is not None]
        return sorted(found, key=lambda n: (volgorde or {}).get(n.gemeente_code, len(volgorde or {})))


def _dates(text: str) -> list[dt.date]:
    found = []
    for m in _DATE_ISO.finditer(text):
        found.append((int(m[1]), int(m[2]), int(m[3])))
    for m in _DATE_NUM.finditer(text):
        found.append((int(m[3]), int(m[2]), int(m[1])))
    for m in _DATE_NL.finditer(text):
        found.append((int(m[3]), MAANDEN.index(m[2].lower()) + 1, int(m[1])))
    out = []
    for y, mo, d in found:
        try:
            out.append(dt.date(y, mo, d))
        except ValueError:
            continue
    return out


def _key(heading: str) -> str:
    """A heading as it is compared: without a leading section number, a date and the word peildatum around it,
    case, accents or punctuation."""
    for pattern in (_DATE_ISO, _DATE_NUM, _DATE_NL):
        heading = pattern.sub(" ", heading)
    heading = re.sub(r"\(\s*(peildatum\s*)?\)|\bpeildatum\s*$", " ", heading.strip(), flags=re.IGNORECASE)
    return match_key(_NUMBER.sub("", heading))


def _shown(heading: str, known: dict[str, str]) -> str:
    """A heading in a message: as typed when it misspells a known one (with what it resembles), else reduced."""
    near = privacy.near_miss(heading, known)
    return f"'{clean(heading)}' (did you mean '{near}'?)" if near else privacy.reduced(heading)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")  # Notepad's default on older Dutch Windows


def read(folder: Path | None, peildatum: dt.date, gemeenten: dict[str, str]) -> Duiding:
    """The notes for ``peildatum`` in ``folder`` (none when the folder or its file is absent).

    ``gemeenten``: code -> name of the gemeenten of the agreement (a note on another gemeente is left out).
    """
    cfg = duiding_config()
    out = Duiding()
    if folder is None or not folder.is_dir():
        return out
    name = cfg["bestand"].format(peildatum=peildatum.isoformat())
    path = folder / name
    if not path.is_file():
        return out
    out.bestand = path
    size = path.stat().st_size
    if size > cfg["max_bytes"]:
        out.meldingen.append(
            f"duiding/{name}: {size} bytes, more than the {cfg['max_bytes']} a duiding file may have: not read"
        )
        return out
    _Parser(out, f"duiding/{name}", peildatum, gemeenten).parse(_decode(path.read_bytes()))
    return out


class _Parser:
    """Reads a duiding file line by line. Where its text goes: a section id (None: a section that could not be
    placed) and a gemeente (None: the whole section; "?": a gemeente that could not be placed); the text under a
    heading that could not be placed is left out."""

    def __init__(self, out: Duiding, name: str, peildatum: dt.date, gemeenten: dict[str, str]):
        cfg = duiding_config()
        self.out, self.name, self.peildatum, self.gemeenten = out, name, peildatum, gemeenten
        self.spec = cfg["secties"]
        self.secties = {
            match_key(_NUMBER.sub("", k)): s for s, spec in self.spec.items() for k in spec["koppen"]
        }
        self.sectie_namen = {match_key(k): k for spec in self.spec.values() for k in spec["koppen"]}
        self.codes = {match_key(c): c for c in gemeenten} | {match_key(n): c for c, n in gemeenten.items()}
        self.gemeente_namen = {match_key(n): n for n in gemeenten.values()}
        self.sectie: str | None = "algemeen"
        self.gemeente: str | None = None
        self.start = 1
        self.lines: list[str] = []

    def say(self, number: int, text: str) -> None:
        self.out.meldingen.append(f"{self.name} line {number}: {text}")

    def parse(self, text: str) -> None:
        for number, line in enumerate(text.splitlines(), start=1):
            m = _HEADING.match(line)
            if not m:
                self.lines.append(line.rstrip())
                continue
            self.flush()
            self.start = number
            if not self.heading(number, len(m[1]), clean(m[2])):
                self.out.notities.clear()
                return
        self.flush()
        self.place()

    def heading(self, number: int, level: int, heading: str) -> bool:
        """Move to the section or gemeente a heading names; False when the whole file is for another peildatum."""
        other = [d for d in _dates(heading) if d != self.peildatum]
        if other:
            self.say(
                number,
                f"{'the title' if level == 1 else 'this heading'} names the peildatum {datum_nl(other[0])}, but "
                f"the file is for {datum_nl(self.peildatum)}: {'nothing of the file is shown' if level == 1 else 'its note is not shown'}",
            )
            if level == 2:
                self.sectie, self.gemeente = None, None
            elif level == 3:
                self.gemeente = "?"
            return level != 1
        key = _key(heading)
        if level == 2:
            self.sectie, self.gemeente = self.secties.get(key), None
            if self.sectie is None:
                known = ", ".join(spec["koppen"][0] for spec in self.spec.values())
                self.say(
                    number,
                    f"unknown section {_shown(heading, self.sectie_namen)} (known: {known}): its notes are not shown",
                )
        elif level == 3 and self.sectie is not None:
            code = self.codes.get(key)
            if code is None:
                self.say(
                    number,
                    f"unknown gemeente {_shown(heading, self.gemeente_namen)} (a gemeente of the agreement, by "
                    "name or CBS code): its note is not shown",
                )
            self.gemeente = code or "?"
        elif level == 3:  # a gemeente under a section that could not be placed: said once, above
            self.gemeente = "?"
        return True  # a title (level 1) of this peildatum: the text after it is the general note

    def flush(self) -> None:
        body = "\n".join(self.lines).strip()
        self.lines.clear()
        if not body or self.sectie is None or self.gemeente == "?":
            return
        for pattern, what in _PERSONAL:
            if pattern.search(body):
                self.say(
                    self.start,
                    f"the note holds what looks like {what}; a note for the board must not hold personal data: "
                    "not shown",
                )
                return
        notes = self.out.notities
        same = [
            i for i, n in enumerate(notes) if n.sectie == self.sectie and n.gemeente_code == self.gemeente
        ]
        if same:  # a second note on the same section or gemeente: added to the first
            first = notes[same[0]]
            notes[same[0]] = Notitie(
                first.sectie, first.gemeente_code, f"{first.tekst}\n\n{body}", first.regel
            )
        else:
            notes.append(Notitie(self.sectie, self.gemeente, body, self.start))

    def place(self) -> None:
        """A note on a gemeente in a section without a row per gemeente is shown with the section, named."""
        placed: list[Notitie] = []
        for n in self.out.notities:
            if n.gemeente_code and not self.spec[n.sectie]["gemeenten"]:
                text = f"{self.gemeenten[n.gemeente_code]}: {n.tekst}"
                first = next(
                    (i for i, p in enumerate(placed) if p.sectie == n.sectie and not p.gemeente_code), None
                )
                if first is not None:
                    placed[first] = Notitie(
                        n.sectie, None, f"{placed[first].tekst}\n\n{text}", placed[first].regel
                    )
                    continue
                n = Notitie(n.sectie, None, text, n.regel)
            placed.append(n)
        self.out.notities = placed


def warn(duiding: Duiding) -> None:
    """Each message as a warning in the run summary (``basics.progress``): the run goes on."""
    shown = progress.report()
    for text in duiding.meldingen:
        if shown:
            shown.line(f"  WARNING: {text}")
            shown.log.problems.append(f"WARNING: {text}")


def keep(
    conn: duckdb.DuckDBPyConnection, peildatum: dt.date, duiding: Duiding, gemeenten: dict[str, str]
) -> None:
    """The notes shown with the report of ``peildatum`` in ``historie.duiding`` (replacing an earlier build's)."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS historie")
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ({', '.join(f'{c} {t}' for c, (t, _) in COLUMNS.items())})"
    )
    conn.execute(f"COMMENT ON TABLE {TABLE} IS '{TABLE_COMMENT}'")
    for column, (_, text) in COLUMNS.items():
        conn.execute(f"COMMENT ON COLUMN {TABLE}.{column} IS '{text.replace(chr(39), chr(39) * 2)}'")
    rows = [
        (
            peildatum,
            n.sectie,
            n.gemeente_code,
            gemeenten.get(n.gemeente_code) if n.gemeente_code else None,
            n.tekst,
            duiding.bestand.name if duiding.bestand else None,
            n.regel,
        )
        for n in duiding.notities
    ]
    conn.execute("BEGIN TRANSACTION")  # this report's notes replaced whole, or not at all
    try:
        conn.execute(f"DELETE FROM {TABLE} WHERE rapport_peildatum = ?", [peildatum])
        if rows:
            conn.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
