"""Check a region pack before anything runs (`fairshare regio controleer`, and `fairshare run` first of all).

Reads only the pack's seeds and the national seeds (``dbt_project/seeds``), never the landing folder or a
warehouse. Every problem is one line naming the file, the line of the csv file (the header is line 1) and the
column, so a data engineer of a new region finds it without reading code. ``region.check_pack`` (every seed
file present with its declared columns, ``regio.csv``'s flags, ``besluitpunten.yaml``) is part of it; on top of
that the pack must hold together: CBS codes from the national list, each gemeente of the agreement in one
ingroeipad group and served by one committee, committee keys and aliases that ingest can tell apart, a target
for each gemeente, category and period, distribution keys for each gemeente of the agreement, counting rules
that name existing gemeenten, categories and corporations, and a ``regio.csv`` that matches its folder.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from basics import paths, region, seeds

# What ingest accepts: a committee key is the file-name prefix of its registers (ingest/config/sources.yaml,
# `^(?P<commissie>[a-z]+)_<date>`), so lower-case letters a-z only.
KEY = re.compile(r"^[a-z]+$")
GEMEENTE_CODE = re.compile(r"^GM\d{4}$")
# CBS does not use GM9900-GM9999: a fictional pack (regio.csv fictief=true) may make up gemeenten there.
FICTIONAL_CODE = re.compile(r"^GM99\d{2}$")
SOORTEN = ("gemeente", "regionaal", "advies")
VERDEELSLEUTELS = ("inwoners", "sociale_huurvoorraad", "toewijzingen", "afspraak")
ALLE = "*"  # a counting rule for every gemeente / category / corporation
_PERIODE = re.compile(r"^(\d{4})-(\d{4})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_SHOWN = (
    60  # a value longer than this is shortened in a message (seeds are reference data, not personal data)
)


@dataclass(frozen=True)
class Problem:
    """One mistake in a pack: where (file, line, column) and what to do about it."""

    file: Path
    line: int | None
    column: str | None
    text: str

    def __str__(self) -> str:
        where = _shown_path(self.file)
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.text}"


@dataclass
class _Seed:
    """A seed's rows as text, each with the line of the file it starts on (the header is line 1)."""

    path: Path
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


def _shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(paths.ROOT).as_posix()
    except ValueError:
        return str(path)


def _q(value: str) -> str:
    text = value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"
    return f"'{text}'"


def _norm(value: str) -> str:
    """As ingest compares names (ingest.text.match_key): case, accents, spaces and punctuation do not count."""
    text = unicodedata.normalize("NFKD", value)
    return _NON_WORD.sub("", "".join(ch for ch in text if not unicodedata.combining(ch)).lower())


def _read(path: Path) -> _Seed:
    """Rows with their first line; blank and all-empty rows are skipped (dbt skips them too)."""
    with open(path, newline="", encoding=seeds.ENCODING) as fh:
        reader = csv.reader(fh, delimiter=seeds.DELIMITER)
        header = next(reader, [])
        rows, line = [], reader.line_num + 1
        for values in reader:
            if any(v.strip() for v in values):
                rows.append((line, dict(zip(header, values, strict=False))))
            line = reader.line_num + 1
    return _Seed(path, header, rows)


def _declared() -> dict[str, list[str]]:
    """Seed name -> its required columns, for every region seed dbt declares (``_seeds.yml``)."""
    national = {p.stem for p in region.SEEDS_SPEC.parent.glob("*.csv")}
    # libyaml's loader where there is one: the pure-Python one takes a quarter second for _seeds.yml, at every run
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(region.SEEDS_SPEC.read_text(encoding="utf-8"), Loader=loader)["seeds"]
    return {
        s["name"]: [c["name"] for c in s.get("columns", []) if not (c.get("meta") or {}).get("optioneel")]
        for s in spec
        if s["name"] not in national
    }


class _Checker:
    """Collects the problems of one pack; each method checks one seed (or one relation between seeds)."""

    def __init__(self, pack: Path) -> None:
        self.pack = pack
        self.found: list[Problem] = []
        self.seeds: dict[str, _Seed] = {}

    def add(self, path: Path, line: int | None, column: str | None, text: str) -> None:
        self.found.append(Problem(path, line, column, text))

    # ---- files and headers -------------------------------------------------------------------------------------

    def load(self) -> None:
        for name, wanted in _declared().items():
            path = self.pack / "seeds" / f"{name}.csv"
            if not path.is_file():
                self.add(
                    path,
                    None,
                    None,
                    f"missing: every region needs it (columns {', '.join(wanted)}); "
                    "copy it from regions/voorbeeld/seeds/",
                )
                continue
            try:
                seed = _read(path)
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                self.add(path, None, None, f"cannot be read as UTF-8 csv: {exc}")
                continue
            missing = [c for c in wanted if c not in seed.header]
            if missing:
                self.add(
                    path,
                    1,
                    ", ".join(missing),
                    f"missing in the header (expected {', '.join(wanted)}; "
                    f"found {', '.join(seed.header) or 'no header'})",
                )
                continue
            self.seeds[name] = seed

    def rows(self, name: str) -> list[tuple[int, dict[str, str]]]:
        return self.seeds[name].rows if name in self.seeds else []

    def path(self, name: str) -> Path:
        return self.pack / "seeds" / f"{name}.csv"

    # ---- helpers ---------------------------------------------------------------------------------------------

    def flag(self, name: str, line: int, row: dict[str, str], column: str, empty_ok: bool = False) -> None:
        value = (row.get(column) or "").strip()
        if value in ("true", "false") or (empty_ok and not value):
            return
        self.add(self.path(name), line, column, f"{_q(value)} is not true or false")

    def whole(self, name: str, line: int, row: dict[str, str], column: str, minimum: int = 0) -> int | None:
        value = (row.get(column) or "").strip()
        if re.fullmatch(r"\d+", value) and int(value) >= minimum:
            return int(value)
        self.add(self.path(name), line, column, f"{_q(value)} is not a whole number of at least {minimum}")
        return None

    def periode(self, name: str, line: int, row: dict[str, str]) -> str | None:
        """The row's period as ``jaar_van-jaar_tot``, checked against its columns (None when they disagree)."""
        text = (row.get("periode") or "").strip()
        van, tot = (row.get("jaar_van") or "").strip(), (row.get("jaar_tot") or "").strip()
        m = _PERIODE.fullmatch(text)
        if not m or (m.group(1), m.group(2)) != (van, tot) or int(van) > int(tot):
            self.add(
                self.path(name),
                line,
                "periode",
                f"{_q(text)} does not match jaar_van {van} and jaar_tot "
                f"{tot} (write the period as <jaar_van>-<jaar_tot>, e.g. 2025-2026)",
            )
            return None
        return text

    # ---- the seeds ---------------------------------------------------------------------------------------------

    def regio(self) -> None:
        rows = self.rows("regio")
        if len(rows) != 1:
            return  # region.check_pack says so
        line, row = rows[0]
        code = (row.get("regio_code") or "").strip()
        if code != self.pack.name:
            self.add(
                self.path("regio"),
                line,
                "regio_code",
                f"{_q(code)} is not the pack's folder name '{self.pack.name}' (the region code is the folder)",
            )
        for column in ("regio_naam", "provincie", "bestuur", "samenwerkend_label"):
            if not (row.get(column) or "").strip():
                self.add(self.path("regio"), line, column, "empty: the report and the province page show it")
        cap = (row.get("max_aandeel_urgent_pct") or "").strip()
        try:
            ok = not cap or 0 < float(cap) <= 100
        except ValueError:
            ok = False
        if not ok:
            self.add(
                self.path("regio"),
                line,
                "max_aandeel_urgent_pct",
                f"{_q(cap)} is not a percentage above 0 and at most 100 (or empty: no cap)",
            )

    def fictief(self) -> bool:
        rows = self.rows("regio")
        return len(rows) == 1 and (rows[0][1].get("fictief") or "").strip() == "true"

    def gemeenten(self, cbs: dict[str, set[str]]) -> None:
        name, seen = "gemeenten", {}
        fictief = self.fictief()
        for line, row in self.rows(name):
            code, naam = (row.get("gemeente_code") or "").strip(), (row.get("gemeente_naam") or "").strip()
            if not GEMEENTE_CODE.fullmatch(code):
                self.add(
                    self.path(name),
                    line,
                    "gemeente_code",
                    f"{_q(code)} is not a CBS code (GM and four digits)",
                )
                continue
            if code in seen:
                self.add(
                    self.path(name), line, "gemeente_code", f"{code} is listed twice (also line {seen[code]})"
                )
            seen.setdefault(code, line)
            if code in cbs:
                if _norm(naam) not in {_norm(n) for n in cbs[code]}:
                    self.add(
                        self.path(name),
                        line,
                        "gemeente_naam",
                        f"{_q(naam)} is not the name of {code} in the "
                        f"national CBS list ({sorted(cbs[code])[0]}): a wrong code or a wrong name",
                    )
            elif not (fictief and FICTIONAL_CODE.fullmatch(code)):
                self.add(
                    self.path(name),
                    line,
                    "gemeente_code",
                    f"{code} is not in the national CBS list "
                    "(dbt_project/seeds/cbs_gemeenten.csv)"
                    + (
                        ""
                        if fictief
                        else "; only a fictional pack (regio.csv fictief=true) may use GM9900-GM9999"
                    ),
                )
            if not naam:
                self.add(self.path(name), line, "gemeente_naam", "empty: every gemeente needs its name")
            self.flag(name, line, row, "in_afspraak")
        if not any(self.in_afspraak()):
            self.add(
                self.path(name), None, "in_afspraak", "no gemeente is in the agreement (in_afspraak=true)"
            )

    def gemeente_rows(self) -> dict[str, tuple[int, dict[str, str]]]:
        return {
            (r.get("gemeente_code") or "").strip(): (line, r) for line, r in reversed(self.rows("gemeenten"))
        }

    def in_afspraak(self) -> list[str]:
        return [
            c for c, (_, r) in self.gemeente_rows().items() if (r.get("in_afspraak") or "").strip() == "true"
        ]

    def naam(self, code: str) -> str:
        found = self.gemeente_rows().get(code)
        return f"{code} ({found[1].get('gemeente_naam', '').strip()})" if found else code

    def known(
        self, name: str, line: int, code: str, column: str = "gemeente_code", agreement: bool = False
    ) -> bool:
        """A gemeente code of the pack (``agreement``: of a gemeente in the agreement)."""
        if code not in self.gemeente_rows():
            self.add(self.path(name), line, column, f"{_q(code)} is not a gemeente of gemeenten.csv")
            return False
        if agreement and code not in self.in_afspraak():
            self.add(
                self.path(name),
                line,
                column,
                f"{self.naam(code)} is outside the agreement (gemeenten.csv "
                "in_afspraak=false): only gemeenten of the agreement belong here",
            )
            return False
        return True

    def woonplaatsen(self) -> None:
        seen: dict[str, int] = {}
        for line, row in self.rows("woonplaatsen"):
            plaats = (row.get("woonplaats") or "").strip()
            if not plaats:
                self.add(self.path("woonplaatsen"), line, "woonplaats", "empty")
            elif _norm(plaats) in seen:
                self.add(
                    self.path("woonplaatsen"),
                    line,
                    "woonplaats",
                    f"{_q(plaats)} is listed twice (also line {seen[_norm(plaats)]}): one gemeente per woonplaats",
                )
            seen.setdefault(_norm(plaats), line)
            self.known("woonplaatsen", line, (row.get("gemeente_code") or "").strip())

    def commissies(self) -> None:
        name = "commissies"
        keys: dict[str, int] = {}
        spoken: dict[str, tuple[str, int, str]] = {}  # every way to name a committee -> (key, line, column)
        served: dict[str, list[tuple[str, int]]] = {}  # gemeente -> the (non-advisory) committees serving it
        for line, row in self.rows(name):
            key = (row.get("commissie") or "").strip()
            if not KEY.fullmatch(key):
                self.add(
                    self.path(name),
                    line,
                    "commissie",
                    f"{_q(key)} is not a valid key: lower-case letters a-z "
                    "only (it is the file-name prefix of the register, urgentie/<key>_<YYYY-MM-DD>.xlsx)",
                )
            elif key in keys:
                self.add(
                    self.path(name), line, "commissie", f"'{key}' is listed twice (also line {keys[key]})"
                )
            keys.setdefault(key, line)
            soort = (row.get("soort") or "").strip()
            if soort not in SOORTEN:
                self.add(self.path(name), line, "soort", f"{_q(soort)} is not one of {', '.join(SOORTEN)}")
            self.flag(name, line, row, "verplicht")
            codes = self._served(line, row)
            if soort == "gemeente":
                own = (row.get("commissie_code") or "").strip()
                if len(codes) != 1 or own != codes[0]:
                    self.add(
                        self.path(name),
                        line,
                        "commissie_code",
                        f"{_q(own)}: a gemeente's own committee "
                        "(soort gemeente) serves one gemeente and has its CBS code as commissie_code",
                    )
            if (
                soort != "advies"
            ):  # an advisory team advises for several committees' gemeenten: it may overlap
                for code in codes:
                    served.setdefault(code, []).append((key, line))
            self._names(line, row, key, spoken)
        self._served_once(served)
        self._gemeente_commissie(keys)

    def _served(self, line: int, row: dict[str, str]) -> list[str]:
        """The committee's gemeenten (CBS codes separated by spaces), each checked."""
        text = (row.get("gemeenten") or "").strip()
        if re.search(r"[,;]", text):
            self.add(
                self.path("commissies"),
                line,
                "gemeenten",
                f"{_q(text)}: separate the CBS codes by a space (GM9901 GM9902), not by ',' or ';'",
            )
        codes = [c for c in re.split(r"[\s,;]+", text) if c]
        if not codes:
            self.add(
                self.path("commissies"),
                line,
                "gemeenten",
                "empty: list the CBS codes of the gemeenten it serves",
            )
        for code in codes:
            self.known("commissies", line, code, column="gemeenten")
        return codes

    def _names(
        self, line: int, row: dict[str, str], key: str, spoken: dict[str, tuple[str, int, str]]
    ) -> None:
        """Key, naam, label and aliases name one committee only: ingest maps each of them to its committee."""
        aliases = row.get("aliassen") or ""
        if aliases.strip() and (any(not a.strip() for a in aliases.split(";")) or "," in aliases):
            self.add(
                self.path("commissies"),
                line,
                "aliassen",
                f"{_q(aliases)}: separate aliases by ';' "
                "(Commissie Noord;UC Noord), with no empty alias and no ','",
            )
        names = [("commissie", key), ("naam", row.get("naam") or ""), ("label", row.get("label") or "")]
        names += [("aliassen", a) for a in aliases.split(";")]
        if not (row.get("naam") or "").strip():
            self.add(self.path("commissies"), line, "naam", "empty: messages name the committee by it")
        for column, value in names:
            norm = _norm(value)
            if not norm:
                continue
            other = spoken.get(norm)
            if other and other[0] != key:
                self.add(
                    self.path("commissies"),
                    line,
                    column,
                    f"{_q(value.strip())} also names committee "
                    f"'{other[0]}' (line {other[1]}, column {other[2]}): ingest could not tell them apart",
                )
            spoken.setdefault(norm, (key, line, column))

    def _served_once(self, served: dict[str, list[tuple[str, int]]]) -> None:
        rows = self.gemeente_rows()
        for code in self.in_afspraak():
            by = served.get(code, [])
            if len(by) == 1:
                continue
            line = rows[code][0]
            if not by:
                text = (
                    "is served by no committee: list it in the column gemeenten of one row of commissies.csv"
                )
            else:
                text = "is served by {} committees ({}): one committee per gemeente (an advisory team aside)".format(
                    len(by), ", ".join(f"'{k}' line {n}" for k, n in by)
                )
            self.add(self.path("gemeenten"), line, "gemeente_code", f"{self.naam(code)} {text}")

    def _gemeente_commissie(self, keys: dict[str, int]) -> None:
        """gemeenten.commissie: for a gemeente of the agreement the committee that serves it; outside it, empty
        or its own committee's key elsewhere (information only: this region receives no register from it)."""
        serving = {
            code: (r.get("commissie") or "").strip()
            for _, r in self.rows("commissies")
            if (r.get("soort") or "").strip() != "advies"
            for code in (r.get("gemeenten") or "").split()
        }
        agreement = set(self.in_afspraak())
        for code, (line, row) in self.gemeente_rows().items():
            key = (row.get("commissie") or "").strip()
            if code in agreement and key != serving.get(code, key):
                self.add(
                    self.path("gemeenten"),
                    line,
                    "commissie",
                    f"{_q(key)}: {self.naam(code)} is served by "
                    f"'{serving[code]}' (commissies.csv, column gemeenten): name that committee",
                )
            elif code in agreement and key not in keys:
                self.add(
                    self.path("gemeenten"),
                    line,
                    "commissie",
                    f"{_q(key)} is not a committee of commissies.csv: name the committee that serves {self.naam(code)}",
                )
            elif code not in agreement and key and not KEY.fullmatch(key):
                self.add(
                    self.path("gemeenten"),
                    line,
                    "commissie",
                    f"{_q(key)} is not a valid key (lower-case letters a-z), or leave it empty",
                )
            elif code not in agreement and key in keys and code not in serving:
                self.add(
                    self.path("gemeenten"),
                    line,
                    "commissie",
                    f"'{key}' is a committee of this region that does "
                    f"not serve {self.naam(code)} (outside the agreement): leave it empty or give its own "
                    "committee's key",
                )

    def corporaties(self) -> None:
        name = "corporaties"
        column = (
            "samenwerkend" if "samenwerkend" in self.seeds[name].header else None
        )  # check_pack names an old one
        seen: dict[str, int] = {}
        for line, row in self.rows(name):
            corp = (row.get("corporatie") or "").strip()
            if not corp:
                self.add(self.path(name), line, "corporatie", "empty")
            elif corp.casefold() in seen:
                self.add(
                    self.path(name),
                    line,
                    "corporatie",
                    f"{_q(corp)} is listed twice (also line {seen[corp.casefold()]})",
                )
            seen.setdefault(corp.casefold(), line)
            if column:
                self.flag(name, line, row, column)

    def opgaven(self, categories: set[str]) -> None:
        name = "opgaven"
        have: dict[tuple[str, str, str], int] = {}
        periods: dict[str, int] = {}
        for line, row in self.rows(name):
            code = (row.get("gemeente_code") or "").strip()
            cat = (row.get("urgentiecategorie") or "").strip()
            ok = self.known(name, line, code, agreement=True)
            if cat not in categories:
                self.add(
                    self.path(name),
                    line,
                    "urgentiecategorie",
                    f"{_q(cat)} is not a legal urgency category ({', '.join(sorted(categories))})",
                )
                ok = False
            periode = self.periode(name, line, row)
            self.whole(name, line, row, "opgave")
            if not _DATE.fullmatch((row.get("vastgesteld_op") or "").strip()):
                self.add(
                    self.path(name), line, "vastgesteld_op", "not a date (YYYY-MM-DD): when the board set it"
                )
            if ok and periode:
                if (code, cat, periode) in have:
                    self.add(
                        self.path(name),
                        line,
                        "opgave",
                        f"a second target for {self.naam(code)}, {cat}, "
                        f"{periode} (also line {have[(code, cat, periode)]})",
                    )
                have.setdefault((code, cat, periode), line)
                periods.setdefault(periode, line)
        if not periods and name in self.seeds:
            self.add(self.path(name), None, None, "no target: one row per gemeente, category and period")
        for periode in sorted(periods):
            for code in self.in_afspraak():
                for cat in sorted(categories):
                    if (code, cat, periode) not in have:
                        self.add(
                            self.path(name),
                            None,
                            None,
                            f"no target for {self.naam(code)}, {cat}, {periode}: "
                            "every gemeente of the agreement needs one per category and period (0 is a target)",
                        )

    def regionale_opgave(self, categories: set[str]) -> None:
        for line, row in self.rows("regionale_opgave"):
            cat = (row.get("urgentiecategorie") or "").strip()
            if cat not in categories:
                self.add(
                    self.path("regionale_opgave"),
                    line,
                    "urgentiecategorie",
                    f"{_q(cat)} is not a legal urgency category ({', '.join(sorted(categories))})",
                )
            self.periode("regionale_opgave", line, row)
            self.whole("regionale_opgave", line, row, "opgave")

    def per_gemeente(self, name: str, column: str, unique: bool = True) -> None:
        """A seed with a figure per gemeente: every gemeente of the agreement once; outside it optional."""
        seen: dict[str, int] = {}
        for line, row in self.rows(name):
            code = (row.get("gemeente_code") or "").strip()
            if not self.known(name, line, code, agreement=name == "basis_toewijzingen_2024"):
                continue
            if unique and code in seen:
                self.add(
                    self.path(name),
                    line,
                    "gemeente_code",
                    f"{self.naam(code)} is listed twice (also line {seen[code]})",
                )
            seen.setdefault(code, line)
            self.whole(name, line, row, column, minimum=1 if name != "basis_toewijzingen_2024" else 0)
            if "peildatum" in row and not _DATE.fullmatch((row.get("peildatum") or "").strip()):
                self.add(
                    self.path(name), line, "peildatum", "not a date (YYYY-MM-DD): the date the figure is of"
                )
            if "voorlopig" in row:
                self.flag(name, line, row, "voorlopig")
        if name in self.seeds:
            for code in self.in_afspraak():
                if code not in seen:
                    self.add(
                        self.path(name),
                        None,
                        "gemeente_code",
                        f"no row for {self.naam(code)}: every gemeente of the agreement needs one",
                    )

    def ingroeipad(self) -> None:
        groups: dict[str, str] = {}
        for line, row in self.rows("ingroeipad_groepen"):
            code, groep = (row.get("gemeente_code") or "").strip(), (row.get("groep") or "").strip()
            if not self.known("ingroeipad_groepen", line, code, agreement=True):
                continue
            if code in groups:
                self.add(
                    self.path("ingroeipad_groepen"),
                    line,
                    "gemeente_code",
                    f"{self.naam(code)} is already in group {_q(groups[code])}: every gemeente in exactly one group",
                )
                continue
            if not groep:
                self.add(self.path("ingroeipad_groepen"), line, "groep", "empty: name the gemeente's group")
            groups[code] = groep
        if "ingroeipad_groepen" in self.seeds:
            for code in self.in_afspraak():
                if code not in groups:
                    self.add(
                        self.path("ingroeipad_groepen"),
                        None,
                        "gemeente_code",
                        f"no group for {self.naam(code)}: every gemeente of the agreement in exactly one group",
                    )
        agreed: dict[tuple[str, str], int] = {}
        periods: set[str] = set()
        for line, row in self.rows("ingroeipad_afspraak"):
            groep = (row.get("groep") or "").strip()
            if groups and groep not in groups.values():
                self.add(
                    self.path("ingroeipad_afspraak"),
                    line,
                    "groep",
                    f"{_q(groep)} is not a group of ingroeipad_groepen.csv ({', '.join(sorted(set(groups.values())))})",
                )
            periode = self.periode("ingroeipad_afspraak", line, row)
            self.whole("ingroeipad_afspraak", line, row, "afspraak")
            if periode:
                if (groep, periode) in agreed:
                    self.add(
                        self.path("ingroeipad_afspraak"),
                        line,
                        "afspraak",
                        f"a second figure for {_q(groep)}, {periode} (also line {agreed[(groep, periode)]})",
                    )
                agreed.setdefault((groep, periode), line)
                periods.add(periode)
        for periode in sorted(periods):
            for groep in sorted(set(groups.values())):
                if (groep, periode) not in agreed:
                    self.add(
                        self.path("ingroeipad_afspraak"),
                        None,
                        "groep",
                        f"no agreed figure for group {_q(groep)}, {periode}: one per group and period",
                    )

    def telt_mee(self, categories: dict[str, set[str]]) -> None:
        """Counting rules name a gemeente of the pack (or *), an existing category and subcategory (or *), and
        where the table has the columns, a corporation of corporaties.csv (or *)."""
        name = "telt_mee_uitzonderingen"
        corps = {(r.get("corporatie") or "").strip().casefold() for _, r in self.rows("corporaties")}
        subs = {s for ss in categories.values() for s in ss}
        for line, row in self.rows(name):
            code = (row.get("gemeente_code") or "").strip()
            if code != ALLE:
                self.known(name, line, code)
            cat = (row.get("urgentiecategorie") or ALLE).strip() or ALLE
            if cat != ALLE and cat not in categories:
                self.add(
                    self.path(name),
                    line,
                    "urgentiecategorie",
                    f"{_q(cat)} is not an urgency category of dbt_project/seeds/urgentiecategorieen.csv (or *)",
                )
            sub = (row.get("subcategorie") or ALLE).strip() or ALLE
            allowed = categories.get(cat, subs) if cat != ALLE else subs
            if sub != ALLE and sub not in allowed:
                self.add(
                    self.path(name),
                    line,
                    "subcategorie",
                    f"{_q(sub)} is not a subcategory"
                    + (f" of {cat}" if cat != ALLE else "")
                    + f" in dbt_project/seeds/urgentiecategorieen.csv ({', '.join(sorted(allowed)) or 'none'}; or *)",
                )
            corp = (row.get("corporatie") or ALLE).strip() or ALLE
            if "corporatie" in row and corp != ALLE and corp.casefold() not in corps:
                self.add(
                    self.path(name),
                    line,
                    "corporatie",
                    f"{_q(corp)} is not a landlord of corporaties.csv (or *)",
                )
            if not (row.get("reden") or "").strip():
                self.add(
                    self.path(name), line, "reden", "empty: say why it does not count (the report shows it)"
                )

    def verdeelsleutel_keuze(self) -> None:
        seen: dict[str, int] = {}
        for line, row in self.rows("verdeelsleutel_keuze"):
            key = (row.get("verdeelsleutel") or "").strip()
            if key not in VERDEELSLEUTELS:
                self.add(
                    self.path("verdeelsleutel_keuze"),
                    line,
                    "verdeelsleutel",
                    f"{_q(key)} is not one of {', '.join(VERDEELSLEUTELS)}",
                )
            elif key in seen:
                self.add(
                    self.path("verdeelsleutel_keuze"),
                    line,
                    "verdeelsleutel",
                    f"'{key}' is listed twice (also line {seen[key]})",
                )
            seen.setdefault(key, line)
            self.flag("verdeelsleutel_keuze", line, row, "getoond")


def _national() -> tuple[dict[str, set[str]], dict[str, set[str]], set[str]]:
    """The national seeds: CBS code -> its names; category -> its subcategories; the legal categories."""
    cbs: dict[str, set[str]] = {}
    for r in seeds.read(paths.SEEDS_DIR / "cbs_gemeenten.csv"):
        cbs[r["gemeente_code"]] = {n for n in (r["gemeente_naam"], r.get("andere_naam") or "") if n}
    categories: dict[str, set[str]] = {}
    legal: set[str] = set()
    for r in seeds.read(paths.SEEDS_DIR / "urgentiecategorieen.csv"):
        categories.setdefault(r["urgentiecategorie"], set()).update({r["subcategorie"]} - {""})
        if seeds.flag(r["wettelijk"]):
            legal.add(r["urgentiecategorie"])
    return cbs, categories, legal


def problems(regio: str | None = None, pack: Path | None = None, packed: bool = False) -> list[Problem]:
    """Every problem of a region pack (``regions/<regio>/``, or the folder ``pack``), in file order.
    ``packed``: ``region.check_pack`` has passed already (``check``)."""
    pack = pack or region.regio_dir(regio)
    check = _Checker(pack)
    check.load()
    files_ok = not check.found
    if files_ok and not packed and pack.parent.resolve() == region.REGIONS_DIR.resolve():
        try:  # the rest of region.check_pack: regio.csv's one row and flags, the optional besluitpunten.yaml
            region.check_pack(pack.name)
        except region.BadPack as exc:
            check.add(pack, None, None, str(exc))
    cbs, categories, legal = _national()
    steps = [
        ("regio", check.regio),
        ("gemeenten", lambda: check.gemeenten(cbs)),
        ("woonplaatsen", check.woonplaatsen),
        ("commissies", check.commissies),
        ("corporaties", check.corporaties),
        ("opgaven", lambda: check.opgaven(legal)),
        ("regionale_opgave", lambda: check.regionale_opgave(legal)),
        (
            "basis_toewijzingen_2024",
            lambda: check.per_gemeente("basis_toewijzingen_2024", "toewijzingen_2024"),
        ),
        ("ingroeipad_groepen", check.ingroeipad),
        ("telt_mee_uitzonderingen", lambda: check.telt_mee(categories)),
        ("inwoners", lambda: check.per_gemeente("inwoners", "inwoners")),
        ("sociale_huurvoorraad", lambda: check.per_gemeente("sociale_huurvoorraad", "sociale_huurwoningen")),
        ("verdeelsleutel_keuze", check.verdeelsleutel_keuze),
    ]
    for seed, step in steps:
        if seed in check.seeds and (seed == "regio" or "gemeenten" in check.seeds):
            step()
    return check.found


def check(regio: str | None = None) -> None:
    """Raise ``region.BadPack`` with one sentence when the pack has a problem: the first one, and how many
    there are (`fairshare regio controleer` lists them all)."""
    region.check_pack(
        regio
    )  # its own sentence for a missing seed file or column (nothing else can be checked)
    found = problems(regio, packed=True)
    if found:
        code = regio or region.current()
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise region.BadPack(
            f"the region pack regions/{code}/ has {len(found)} problem{'s' if len(found) > 1 else ''}: "
            f"{found[0]}{more} (fairshare regio controleer {code} lists them all)"
        )
