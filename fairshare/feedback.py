"""`fairshare quarantaine`: the quarantined rows and rejected files, written for the supplier who can fix them.

Every row of ``audit.quarantaine`` becomes one row of the list, with the file, sheet, row as Excel counts it,
the column as the supplier wrote it, the reason in Dutch and what a valid value looks like. The stored
reasons are English (they name the canonical column for the data engineer); the Dutch text is derived from
them here, and the valid values from the source contract (ingest/config/sources.yaml, vocabularies.yaml),
so a new header variant or vocabulary value shows up in the list without a code change.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from ingest.config import CONFIG_DIR, ColumnSpec, IngestConfig, load_config

BRON_NAMEN = {"swev": "SWEV-toewijzingen", "urgentie": "Urgentieregister", "planregister": "Planregister Wonen"}
KOLOMMEN = ["Bestand", "Blad", "Rij", "Kolom", "Reden", "Geldige waarde", "Gelezen waarden"]

# English message of the loader (ingest/normalise.py, ingest/values.py) -> Dutch text, optional hint for the valid
# value. Matched in order; a message no pattern knows is shown as stored (still naming column and value).
_VERTALING: list[tuple[str, str, str | None]] = [
    (r"required value is empty", "verplichte waarde ontbreekt", None),
    (r"Excel error value (?P<v>.+)", "Excel-foutwaarde {v} in plaats van een waarde", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not yes/no \(.*\)", "{v} is geen ja/nee", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not a known urgency committee", "{v} is geen bekende urgentiecommissie", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not a known urgentiecategorie", "{v} is geen bekende urgentiecategorie", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not a known (?P<w>\w+)", "{v} is geen bekende waarde voor {w}", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not a gemeente of (?P<r>.+)", "{v} is geen gemeente van {r}", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not a date \(.*\)", "{v} is geen datum", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not an existing date", "{v} is een datum die niet bestaat", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not an amount", "{v} is geen bedrag", None),
    (r"(?P<v>'.*?'|<[^>]*>) is not a whole number", "{v} is geen geheel getal", None),
    (r"(?P<v>\S+) is out of range \(must be (?P<r>.*)\)", "{v} valt buiten het toegestane bereik", None),
    (r"not a Dutch postcode", "geen Nederlandse postcode", None),
    (r"urgentiecategorie '(?P<a>.*)' contradicts subcategorie '(?P<b>.*)' \(an uitstroom subcategory\)",
     "urgentiecategorie '{a}' past niet bij subcategorie '{b}' (een subcategorie van uitstroom)",
     "een subcategorie die bij de urgentiecategorie hoort, of de urgentiecategorie Uitstroom"),
    (r"decision date is before the application date", "de besluitdatum ligt vóór de aanvraagdatum",
     "een besluitdatum op of na de aanvraagdatum"),
    (r"a decided application \(toegekend/afgewezen\) needs a besluitdatum",
     "een besluit (toegekend of afgewezen) zonder besluitdatum", "de datum van het besluit, bijv. 15-03-2026"),
    (r"a toegekend application needs an urgentiecategorie", "toegekend zonder urgentiecategorie", None),
    (r"an afgewezen application needs an afwijzingsgrond", "afgewezen zonder afwijzingsgrond", None),
    (r"(?P<a>\w+) is larger than (?P<b>\w+)", "{a} is groter dan {b}", "een aantal van ten hoogste {b}"),
    (r"(?P<k>\w+) (?P<v>'.*?'|<[^>]*>) appears (?P<n>\d+) times in this file", "{k} {v} komt {n} keer voor in dit bestand",
     "een {k} die maar één keer in het bestand voorkomt"),
]
_DEEL = re.compile(r"column '(?P<kop>.*?)' \((?P<kolom>\w+)\): (?P<fout>.*?)(?=; column '|$)")
_AFGEWEZEN: list[tuple[str, str]] = [
    (r"not a readable xlsx file", "geen leesbaar xlsx-bestand"),
    (r"same content as (?P<v>.*), already loaded", "zelfde inhoud als {v}, al geladen"),
    (r"required column (?P<v>\w+) missing", "verplichte kolom {v} ontbreekt"),
]


@dataclass
class Regel:
    """One quarantined row as the supplier sees it."""

    bron: str
    pad: str
    blad: str | None
    rijnummer: int
    kolom: str
    reden: str
    geldig: str
    waarden: str


def _range(col: ColumnSpec) -> str:
    parts = []
    if col.min is not None:
        parts.append(f"minimaal {col.min:g}")
    if col.max is not None:
        parts.append(f"maximaal {col.max:g}")
    if col.below is not None:
        parts.append(f"lager dan {col.below:g}")
    return " en ".join(parts)


class _Geldig:
    """What a valid value of a column looks like, from the source contract."""

    def __init__(self, config: IngestConfig):
        self.config = config
        self.vocab = yaml.safe_load((CONFIG_DIR / "vocabularies.yaml").read_text(encoding="utf-8"))

    def _labels(self, name: str, keep=lambda code: True) -> str:
        values = self.vocab[name]["values"]
        return ", ".join(next((v for v in vs if v), code) for code, vs in values.items() if keep(code))

    def describe(self, col: ColumnSpec | None) -> str:
        if col is None:
            return ""
        bereik = _range(col)
        t = col.type
        if t == "id":
            text = "een code die de rij uniek aanduidt"
        elif t == "date":
            text = "een datum, bijv. 15-03-2026 of 2026-03-15"
        elif t == "amount":
            text = "een bedrag in euro's, bijv. 612,50"
        elif t in ("count", "leeftijd"):
            text = "een geheel getal"
        elif t == "boolean":
            text = "ja of nee"
        elif t == "vocab":
            text = "een van: " + self._labels(col.vocabulary)
        elif t == "gemeente":
            text = (f"een gemeente van {self.config.regio_naam}: "
                    + ", ".join(g["gemeente_naam"] for g in self.config.gemeenten))
        elif t == "commissie":
            text = "een urgentiecommissie: " + ", ".join(self.config.commissies)
        elif t in ("categorie", "subcategorie"):
            text = "een urgentiecategorie, bijv. " + self._labels("urgentiecategorie")
        elif t == "postcode":
            text = "een Nederlandse postcode, bijv. 3811 AB"
        else:
            text = "tekst"
        if col.required:
            text += " (verplicht)"
        return f"{text}, {bereik}" if bereik else text


def vertaal(reden: str) -> tuple[str, str | None]:
    """One English loader message (without its column prefix) in Dutch, and a hint for the valid value if any."""
    for pattern, nl, hint in _VERTALING:
        m = re.fullmatch(pattern, reden.strip())
        if m:
            return nl.format(**m.groupdict()), hint.format(**m.groupdict()) if hint else None
    return reden, None


def _afgewezen_nl(reden: str) -> str:
    pad, _, tekst = reden.partition(": ")
    for pattern, nl in _AFGEWEZEN:
        m = re.search(pattern, tekst)
        if m:
            return nl.format(**m.groupdict())
    return tekst or reden


def _regel(row: dict, config: IngestConfig, geldig: _Geldig) -> Regel:
    source = config.sources.get(row["bron"])
    columns = source.columns if source else {}
    koppen, redenen, hints = [], [], []
    for m in _DEEL.finditer(row["reden"]):
        koppen.append(m["kop"])
        for fout in m["fout"].split("; "):
            nl, hint = vertaal(fout)
            redenen.append(f"{m['kop']}: {nl}")
            hints.append(f"{m['kop']}: {hint or geldig.describe(columns.get(m['kolom']))}")
    if not koppen:  # a message without a column prefix: keep it whole
        nl, hint = vertaal(row["reden"])
        koppen, redenen, hints = [row["kolom"]], [nl], [hint or ""]
    waarden = json.loads(row["waarden"]) if row["waarden"] else {}
    # Pseudonyms mean nothing to the supplier: they find the row by its number.
    shown = {k: v for k, v in waarden.items() if getattr(columns.get(k), "type", None) != "pseudoniem"}
    return Regel(row["bron"], row["pad"], row["blad"], int(row["rijnummer"]), ", ".join(dict.fromkeys(koppen)),
                 "; ".join(redenen), "; ".join(dict.fromkeys(hints)),
                 "; ".join(f"{k}: {v}" for k, v in shown.items()))


def _filter(bron: str | None, levering: str | None) -> tuple[str, list]:
    where, params = [], []
    if bron:
        where.append("b.bron = ?")
        params.append(bron)
    if levering:  # a file (as in audit.bestanden or just its name) or a delivery date
        where.append("(b.pad = ? OR b.pad LIKE '%/' || ? OR CAST(b.leverdatum AS VARCHAR) = ?)")
        params += [levering, levering, levering]
    return (" AND " + " AND ".join(where)) if where else "", params


def collect(conn: duckdb.DuckDBPyConnection, bron: str | None = None, levering: str | None = None,
            config: IngestConfig | None = None) -> tuple[list[Regel], list[tuple[str, str, object, str]]]:
    """The quarantined rows (of the current loads) and the rejected files, in file and row order."""
    config = config or load_config()
    geldig = _Geldig(config)
    extra, params = _filter(bron, levering)
    cur = conn.execute(
        "SELECT q.bron, q.pad, q.blad, q.rijnummer, q.kolom, q.reden, CAST(q.waarden AS VARCHAR) AS waarden "
        "FROM audit.quarantaine AS q JOIN audit.bestanden AS b USING (bestand_id) "
        f"WHERE TRUE{extra} ORDER BY q.pad, q.rijnummer, q.kolom", params)
    names = [d[0] for d in cur.description]
    regels = [_regel(dict(zip(names, r, strict=True)), config, geldig) for r in cur.fetchall()]
    afgewezen = [(b, p, lever, _afgewezen_nl(r or "")) for b, p, lever, r in conn.execute(
        f"SELECT b.bron, b.pad, b.leverdatum, b.reden FROM audit.bestanden_actueel AS b "
        f"WHERE b.status = 'afgewezen'{extra} ORDER BY b.pad", params).fetchall()]
    return regels, afgewezen


def _rij(r: Regel) -> list:
    return [r.pad, r.blad or "", r.rijnummer, r.kolom, r.reden, r.geldig, r.waarden]


def _sheet_name(pad: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", pad.rsplit("/", 1)[-1])[:31]
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:27]}_{n}"
        n += 1
    used.add(name.lower())
    return name


def write(regels: list[Regel], afgewezen: list, out: Path) -> list[Path]:
    """Write the list as xlsx (one sheet per file, a sheet of rejected files) or csv (plus `_afgewezen.csv`)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        # Semicolons and a BOM: a Dutch Excel opens it with the columns split and the accents right.
        with open(out, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh, delimiter=";")
            w.writerow(["Bron", *KOLOMMEN])
            w.writerows([BRON_NAMEN.get(r.bron, r.bron), *_rij(r)] for r in regels)
        written = [out]
        if afgewezen:
            side = out.with_name(f"{out.stem}_afgewezen.csv")
            with open(side, "w", newline="", encoding="utf-8-sig") as fh:
                w = csv.writer(fh, delimiter=";")
                w.writerow(["Bron", "Bestand", "Leverdatum", "Reden"])
                w.writerows([BRON_NAMEN.get(b, b), p, lever, r] for b, p, lever, r in afgewezen)
            written.append(side)
        return written
    if out.suffix.lower() != ".xlsx":
        raise ValueError(f"--out must end in .xlsx or .csv, got {out.name}")
    import xlsxwriter

    with xlsxwriter.Workbook(str(out)) as wb:
        kop = wb.add_format({"bold": True, "bg_color": "#DBE7EC", "text_wrap": True, "valign": "top", "border": 1})
        tekst = wb.add_format({"text_wrap": True, "valign": "top"})
        getal = wb.add_format({"num_format": "0", "valign": "top"})
        datum = wb.add_format({"num_format": "dd-mm-yyyy", "valign": "top"})
        uitleg = wb.add_worksheet("Toelichting")
        uitleg.set_column(0, 0, 110, tekst)
        for i, line in enumerate([
                "Rijen die niet zijn ingelezen (quarantaine) en afgewezen bestanden",
                "Per aangeleverd bestand één tabblad. Elke regel is een rij uit uw bestand die niet is ingelezen:",
                "Rij = het rijnummer zoals Excel het toont; Kolom = de kolomkop zoals in uw bestand;",
                "Reden = wat er mis is; Geldige waarde = hoe een juiste waarde eruitziet.",
                "Lever een verbeterd bestand aan; de rijen worden dan opnieuw ingelezen.",
                f"Rijen in quarantaine: {len(regels)}; afgewezen bestanden: {len(afgewezen)}."]):
            uitleg.write(i, 0, line, wb.add_format({"bold": True, "font_size": 13}) if i == 0 else tekst)
        used = {"toelichting", "afgewezen bestanden"}
        widths = [30, 10, 7, 24, 55, 55, 60]
        per_file: dict[str, list[Regel]] = {}
        for r in regels:
            per_file.setdefault(r.pad, []).append(r)
        for pad, rows in per_file.items():
            ws = wb.add_worksheet(_sheet_name(pad, used))
            ws.write_row(0, 0, KOLOMMEN, kop)
            for i, r in enumerate(rows, start=1):
                for j, v in enumerate(_rij(r)):
                    ws.write(i, j, v, getal if j == 2 else tekst)
            for j, w in enumerate(widths):
                ws.set_column(j, j, w)
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, len(rows), len(KOLOMMEN) - 1)
        if afgewezen:
            ws = wb.add_worksheet("Afgewezen bestanden")
            ws.write_row(0, 0, ["Bron", "Bestand", "Leverdatum", "Reden"], kop)
            for i, (b, p, lever, r) in enumerate(afgewezen, start=1):
                ws.write(i, 0, BRON_NAMEN.get(b, b), tekst)
                ws.write(i, 1, p, tekst)
                if lever is not None:
                    ws.write_datetime(i, 2, lever, datum)
                ws.write(i, 3, r, tekst)
            for j, w in enumerate([20, 40, 12, 70]):
                ws.set_column(j, j, w)
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, len(afgewezen), 3)
    return [out]


def export(warehouse: Path, out: Path, bron: str | None = None, levering: str | None = None) -> tuple[int, int, list[Path]]:
    """Read the warehouse read-only in one short block, then write the list; returns (rows, rejected files, paths)."""
    from warehouse import store

    with store.connect(warehouse, read_only=True) as conn:
        regels, afgewezen = collect(conn, bron, levering)
    return len(regels), len(afgewezen), write(regels, afgewezen, out)
