"""Compensation as a scenario for the board, when the region pack defines a rule (``regions/<regio>/compensatie.yaml``).

The afsprakenkader (§5.6) asks the monitor for "een voorstel voor wat er moet gebeuren als gemeenten niet aan de
regionale afspraken tegemoetkomen, inclusief mogelijke compensatieafspraken". A region that has such a rule
describes it in its pack: an amount per household a gemeente is behind its cumulative share since 2025 (the
saldo of ``marts.compensatie_saldo``, as the report shows it, to one decimal), optionally a threshold below which
nothing is settled, whether the total goes to the gemeenten ahead of their share (in proportion to how far
ahead), and the exemptions the region agreed (a gemeente, a domain and the kinds of outflow it covers, each with
its source). Every amount and exemption lives in the pack file with its source, never in code.

The scenario is computed from the marts only. An exemption whose kinds of outflow already do not count in that
gemeente (a counting rule of ``telt_mee_uitzonderingen`` for every landlord and year of the saldo) leaves its
saldo as it is, and says so; one that covers outflow that does count cannot be split off the saldo (the targets are per category, not per kind of outflow): that gemeente gets
no amount, with the reason. A region without the file sees nothing of it. ``check`` validates the file when a
run starts (``BadRule`` naming file, line and key: a configuration error, exit 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from basics import paths, seeds
from basics.dutch import getal

FILE = "compensatie.yaml"
VERDELINGEN = ("geen", "naar_overschot")
KEYS = {
    "bedrag_per_huishouden": "the amount in euros per household a gemeente is behind its cumulative share",
    "bron": "where the rule comes from (a decision, a document and its paragraph)",
    "drempel_huishoudens": "optional: behind less than this many households, nothing is settled (default 0)",
    "verdeling": "optional: geen (only what the gemeenten behind would pay) or naar_overschot (default geen)",
    "uitzonderingen": "optional: a list of exemptions (gemeente, domein, subcategorieen, bron)",
}
EXEMPTION_KEYS = ("gemeente", "domein", "subcategorieen", "bron")


class BadRule(ValueError):
    """A compensation rule that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class Uitzondering:
    gemeente_code: str
    domein: str
    subcategorieen: tuple[str, ...]
    bron: str


@dataclass(frozen=True)
class Regel:
    """A region's compensation rule, as its pack states it."""

    bedrag_per_huishouden: float
    bron: str
    drempel_huishoudens: float
    verdeling: str
    uitzonderingen: tuple[Uitzondering, ...]
    bestand: str


@dataclass(frozen=True)
class Rij:
    """What the rule would mean for one gemeente."""

    gemeente_code: str
    gemeente_naam: str
    saldo: float
    achterstand: float
    betaalt: float | None  # None: not to be determined (an exemption the saldo cannot be split for)
    ontvangt: float
    toelichting: str


def _round1(x: float) -> float:
    """One decimal, half away from zero (as the report shows a saldo)."""
    return math.copysign(math.floor(abs(x) * 10 + 0.5) / 10, x)


def _line(node) -> int:
    return node.start_mark.line + 1


def _value(node):
    return yaml.safe_load(yaml.serialize(node))


def _compose(path: Path, shown: str) -> yaml.MappingNode:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise BadRule(
            f"{shown}{where}: not readable as UTF-8 YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise BadRule(f"{shown}: must hold the keys {', '.join(KEYS)}, one per line")
    return root


def _number(node, bad, key: str, what: str, minimum: float, strict: bool) -> float:
    value = _value(node)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value != value
        or value < minimum
        or (strict and value == minimum)
    ):
        raise bad(node, key, f"must be {what}, not {node.value!r}")
    return float(value)


def load(path: Path, gemeenten: dict[str, str], subcategorieen: set[str]) -> Regel | None:
    """The rule in ``path`` (None when the pack has no such file); ``BadRule`` when it cannot be used.

    ``gemeenten``: the pack's gemeenten of the agreement (code -> name; a name is accepted too);
    ``subcategorieen``: the known kinds of outflow (national seed urgentiecategorieen).
    """
    if not path.is_file():
        return None
    shown = f"{path.parent.name}/{path.name}"

    def bad(node, key: str, text: str):
        return BadRule(f"{shown} line {_line(node)}: key '{key}': {text}")

    root = _compose(path, shown)
    nodes = {}
    for k, v in root.value:
        if k.value not in KEYS:
            raise bad(k, k.value, f"unknown key (known: {', '.join(KEYS)})")
        nodes[k.value] = v
    for required in ("bedrag_per_huishouden", "bron"):
        if required not in nodes:
            raise BadRule(f"{shown} line {_line(root)}: key '{required}' is missing: {KEYS[required]}")
    bedrag = _number(
        nodes["bedrag_per_huishouden"], bad, "bedrag_per_huishouden", "a positive number of euros", 0, True
    )
    bron = _value(nodes["bron"])
    if not isinstance(bron, str) or not bron.strip():
        raise bad(nodes["bron"], "bron", "must name the source of the rule")
    drempel = 0.0
    if "drempel_huishoudens" in nodes:
        what = "a number of households of at least 0"
        drempel = _number(nodes["drempel_huishoudens"], bad, "drempel_huishoudens", what, 0, False)
    verdeling = _value(nodes["verdeling"]) if "verdeling" in nodes else "geen"
    if verdeling not in VERDELINGEN:
        raise bad(
            nodes["verdeling"], "verdeling", f"must be one of {', '.join(VERDELINGEN)}, not {verdeling!r}"
        )
    exemptions = []
    if "uitzonderingen" in nodes:
        v = nodes["uitzonderingen"]
        if not isinstance(v, yaml.SequenceNode):
            raise bad(v, "uitzonderingen", "must be a list of exemptions (- gemeente: …)")
        exemptions = [_exemption(item, gemeenten, subcategorieen, bad) for item in v.value]
    return Regel(bedrag, bron.strip(), drempel, verdeling, tuple(exemptions), shown)


def _exemption(item, gemeenten: dict[str, str], subcategorieen: set[str], bad) -> Uitzondering:
    if not isinstance(item, yaml.MappingNode):
        raise bad(item, "uitzonderingen", "each exemption has the keys " + ", ".join(EXEMPTION_KEYS))
    fields = {}
    for k, v in item.value:
        if k.value not in EXEMPTION_KEYS:
            raise bad(k, f"uitzonderingen.{k.value}", f"unknown key (known: {', '.join(EXEMPTION_KEYS)})")
        fields[k.value] = v
    for key in EXEMPTION_KEYS:
        if key not in fields:
            raise bad(item, f"uitzonderingen.{key}", "is missing")
    gemeente = str(_value(fields["gemeente"]))
    by_name = {n.lower(): c for c, n in gemeenten.items()}
    code = gemeente if gemeente in gemeenten else by_name.get(gemeente.lower())
    if code is None:
        raise bad(
            fields["gemeente"],
            "uitzonderingen.gemeente",
            f"{gemeente!r} is not a gemeente of the agreement (known: {', '.join(sorted(gemeenten.values()))})",
        )
    subs = _value(fields["subcategorieen"])
    if not isinstance(subs, list) or not subs or not all(isinstance(s, str) for s in subs):
        raise bad(
            fields["subcategorieen"], "uitzonderingen.subcategorieen", "must be a list such as [mo, bw, vo]"
        )
    unknown = [s for s in subs if s not in subcategorieen]
    if unknown:
        raise bad(
            fields["subcategorieen"],
            "uitzonderingen.subcategorieen",
            f"unknown kind of outflow {', '.join(unknown)} (known: {', '.join(sorted(subcategorieen))})",
        )
    domein, bron = _value(fields["domein"]), _value(fields["bron"])
    for key, text in (("domein", domein), ("bron", bron)):
        if not isinstance(text, str) or not text.strip():
            raise bad(fields[key], f"uitzonderingen.{key}", "must be a text")
    return Uitzondering(code, domein.strip(), tuple(subs), bron.strip())


def check(pack: Path) -> None:
    """Validate the pack's rule, if it has one, before a run reads anything (``BadRule``)."""
    if not (pack / FILE).is_file():
        return
    gemeenten = {
        r["gemeente_code"]: r["gemeente_naam"]
        for r in seeds.read(pack / "seeds" / "gemeenten.csv")
        if seeds.flag(r["in_afspraak"])
    }
    subs = {
        r["subcategorie"]
        for r in seeds.read(paths.SEEDS_DIR / "urgentiecategorieen.csv")
        if r["subcategorie"]
    }
    load(pack / FILE, gemeenten, subs)


def rule_for(conn: duckdb.DuckDBPyConnection, pack: Path | None) -> Regel | None:
    """The rule of ``pack`` validated against the warehouse's reference tables (None: no rule)."""
    if pack is None or not (pack / FILE).is_file():
        return None
    gemeenten = dict(
        conn.execute(
            "SELECT gemeente_code, gemeente_naam FROM referentie.gemeenten WHERE in_afspraak"
        ).fetchall()
    )
    subs = {
        s
        for (s,) in conn.execute(
            "SELECT subcategorie FROM referentie.urgentiecategorieen WHERE subcategorie IS NOT NULL"
        ).fetchall()
    }
    return load(pack / FILE, gemeenten, subs)


def _niet_geteld(conn: duckdb.DuckDBPyConnection, jaar: int):
    """Whether none of a gemeente's outflow of one subcategorie counts in its saldo up to ``jaar``: a counting rule
    (``telt_mee_uitzonderingen``) covers that gemeente, subcategorie and its category for every landlord and every
    year of the saldo. A rule limited to a landlord or to some years leaves part of it counted."""
    [(eerste,)] = conn.execute(
        "SELECT coalesce(min(jaar), ?) FROM marts.compensatie_saldo", [jaar]
    ).fetchall()
    categorie = dict(
        conn.execute(
            "SELECT subcategorie, urgentiecategorie FROM referentie.urgentiecategorieen WHERE subcategorie IS NOT NULL"
        ).fetchall()
    )
    regels = conn.execute(
        """SELECT coalesce(nullif(trim(gemeente_code), ''), '*'), coalesce(nullif(trim(urgentiecategorie), ''), '*'),
                  coalesce(nullif(trim(subcategorie), ''), '*')
           FROM referentie.telt_mee_uitzonderingen
           WHERE coalesce(nullif(trim(corporatie), ''), '*') = '*'
             AND coalesce(jaar_van, ?) <= ? AND coalesce(jaar_tot, ?) >= ?""",
        [eerste, eerste, jaar, jaar],
    ).fetchall()

    def buiten(gemeente: str, sub: str) -> bool:
        return any(
            g in ("*", gemeente) and c in ("*", categorie.get(sub)) and s in ("*", sub) for g, c, s in regels
        )

    return buiten


def scenario(conn: duckdb.DuckDBPyConnection, regel: Regel, jaar: int, volgorde: dict[str, int]) -> list[Rij]:
    """What the rule would mean per gemeente for the cumulative saldo up to ``jaar`` (marts.compensatie_saldo)."""
    saldi = conn.execute(
        "SELECT gemeente_code, gemeente_naam, saldo FROM marts.compensatie_saldo WHERE jaar = ?", [jaar]
    ).fetchall()
    buiten = _niet_geteld(conn, jaar)
    per_gemeente: dict[str, list[Uitzondering]] = {}
    for u in regel.uitzonderingen:
        per_gemeente.setdefault(u.gemeente_code, []).append(u)
    rijen = []
    for code, naam, saldo in saldi:
        saldo = _round1(float(saldo or 0))
        achter = max(0.0, -saldo)
        notes, split = [], False
        for u in per_gemeente.get(code, []):
            counted = [s for s in u.subcategorieen if not buiten(code, s)]
            if counted:
                split = True
                notes.append(
                    f"geen compensatie voor {u.domein} ({u.bron}); die uitstroom telt hier mee in het saldo en is "
                    "er niet uit te halen: geen bedrag te bepalen"
                )
            else:
                notes.append(
                    f"geen compensatie voor {u.domein} ({u.bron}); die uitstroom telt hier niet mee, het saldo "
                    "bevat er niets van"
                )
        if split:
            betaalt = None
        elif achter > 0 and achter >= regel.drempel_huishoudens:
            betaalt = float(round(achter * regel.bedrag_per_huishouden))
        else:
            betaalt = 0.0
            if achter > 0:
                notes.append(
                    f"achterstand onder de drempel van {getal(regel.drempel_huishoudens, 1)} huishoudens"
                )
        rijen.append(Rij(code, naam, saldo, achter, betaalt, 0.0, "; ".join(notes)))
    if regel.verdeling == "naar_overschot":
        totaal = sum(r.betaalt or 0 for r in rijen)
        voor = sum(r.saldo for r in rijen if r.saldo > 0 and r.betaalt is not None)
        if voor > 0:
            rijen = [
                Rij(
                    r.gemeente_code,
                    r.gemeente_naam,
                    r.saldo,
                    r.achterstand,
                    r.betaalt,
                    round(totaal * r.saldo / voor) if r.saldo > 0 and r.betaalt is not None else 0.0,
                    r.toelichting,
                )
                for r in rijen
            ]
    return sorted(rijen, key=lambda r: volgorde.get(r.gemeente_code, len(volgorde)))


def for_report(conn: duckdb.DuckDBPyConnection, d: dict, pack: Path | None) -> dict | None:
    """The scenario as the report shows it (None when the region has no rule)."""
    regel = rule_for(conn, pack)
    if regel is None:
        return None
    rijen = scenario(conn, regel, d["jaar"], d["volgorde"])
    return {
        "regel": regel,
        "rijen": rijen,
        "betaalt": sum(r.betaalt or 0 for r in rijen),
        "ontvangt": sum(r.ontvangt for r in rijen),
        "onbepaald": [r.gemeente_naam for r in rijen if r.betaalt is None],
    }
