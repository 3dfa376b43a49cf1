"""Write the sample truth as the suppliers really send it: varied headers, formats and mess.

Each file gets a layout (xlsx with title rows and a `Totaal` row, or csv with `;`/`,`,
UTF-8/Windows-1252, decimal commas); header variants rotate so every variant of the
source contract appears somewhere; a few bad rows (<1%) of each kind of sources.md §6 are
added as extra rows, so the calibrated figures stay exact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from basics import region
from ingest.config import load_config

EXCEL_MAX_ROWS = 1_048_576
# Names and woonplaatsen come from the region's reference seeds, like everything the pipeline checks against;
# filled by ``use_region`` before a sample is written.
NAMES: dict[str, str] = {}
WOONPLAATS: dict[str, str] = {}
_REGIO: list[str | None] = [None]  # the region of the sample being written (its supplier variants count)


def use_region(regio: str | None = None) -> None:
    """Fill NAMES and WOONPLAATS from the region's seeds gemeenten and woonplaatsen."""
    _REGIO[0] = regio
    NAMES.clear()
    WOONPLAATS.clear()
    NAMES.update({g["gemeente_code"]: g["gemeente_naam"] for g in region.read_seed("gemeenten.csv", regio)})
    for w in region.read_seed("woonplaatsen.csv", regio):
        if w["woonplaats"] != NAMES[w["gemeente_code"]]:  # the first other woonplaats of each gemeente
            WOONPLAATS.setdefault(w["gemeente_code"], w["woonplaats"])
    _use_vocabularies(load_config(regio=regio).vocabularies)


def _use_vocabularies(vocabularies: dict) -> None:
    """Fill the spelling tables from the region's vocabulary configuration."""

    def spellings(name: str) -> dict[str, list[str]]:
        vocabulary = vocabularies[name]
        table = {code: list(values) for code, values in vocabulary.spellings.items()}
        if vocabulary.catch_all:
            table[vocabulary.catch_all] = [*table.get(vocabulary.catch_all, []), *OTHER_TEXT[name]]
        return table

    categories = spellings("urgentiecategorie")
    for table, values in (
        (CATEGORY_TEXT, {c: v for c, v in categories.items() if "/" not in c and c != "uitstroom"}),
        (SUB_TEXT, {"onbekend": categories["uitstroom"]}),
        (ROUTE_TEXT, spellings("toewijzingsroute")),
        (LABEL_TEXT, spellings("label")),
        (BESLUIT_TEXT, spellings("besluit")),
        (GROND_TEXT, spellings("afwijzingsgrond")),
        (STATUS_TEXT, spellings("planstatus")),
    ):
        table.clear()
        table.update(values)
    SUB_TEXT.update({c.split("/", 1)[1]: v for c, v in categories.items() if c.startswith("uitstroom/")})


# The spellings the sample writes per code: every accepted value of the vocabulary configuration
# (ingest/config/vocabularies.yaml and the region's leveranciers.yaml), so a new variant is written once.
# Filled by ``use_region``. A catch-all code has no list there: the sample writes texts outside the vocabulary.
CATEGORY_TEXT: dict[str, list[str]] = {}
SUB_TEXT: dict[str, list[str]] = {}  # uitstroom's subcategories; onbekend: uitstroom without one
ROUTE_TEXT: dict[str, list[str]] = {}
LABEL_TEXT: dict[str, list[str]] = {}
BESLUIT_TEXT: dict[str, list[str]] = {}
GROND_TEXT: dict[str, list[str]] = {}
STATUS_TEXT: dict[str, list[str]] = {}
OTHER_TEXT = {  # values no vocabulary knows, for its catch-all code
    "toewijzingsroute": ["Wisselwoning", "Kamerverhuur"],
    "afwijzingsgrond": ["Woonprobleem niet aangetoond", "Aanvraag onvolledig na hersteltermijn"],
}
FAKE_NAMES = ["Jan Testpersoon", "Fatima Voorbeeld", "Piet Fictief", "Anna Nepnaam", "Mohammed Proefdata"]


@dataclass
class Layout:
    """How one file is written."""

    fmt: str  # xlsx | csv
    variant: int  # rotates header variants and value spellings
    delimiter: str = ";"
    encoding: str = "cp1252"
    decimal_comma: bool = True
    title_rows: bool = True
    total_row: bool = True
    pii: bool = False


def headers_for(source: str, regio: str | None = None) -> dict[str, list[str]]:
    columns = load_config(regio=regio or _REGIO[0]).sources[source].columns
    return {name: list(col.headers) for name, col in columns.items()}


def pick(options: list[str], i: int) -> str:
    return options[i % len(options)]


class Formatter:
    """Spells canonical values the way one supplier's export does."""

    def __init__(self, layout: Layout, rng: np.random.Generator):
        self.layout = layout
        self.rng = rng
        self.v = layout.variant

    def date(self, value) -> object:
        if value is None or pd.isna(value):
            return ""
        d = pd.Timestamp(value).date()
        if self.layout.fmt == "xlsx" and self.v % 3 != 2:
            return dt.datetime(d.year, d.month, d.day)
        return [d.strftime("%d-%m-%Y"), d.isoformat(), f"{d.day}-{d.month}-{d.year}", d.strftime("%d/%m/%Y")][
            self.v % 4
        ]

    def amount(self, value: float) -> object:
        if self.layout.fmt == "xlsx" and self.v % 2 == 0:
            return float(value)
        text = f"{value:.2f}"
        if self.layout.decimal_comma:
            whole, cents = text.split(".")
            if self.v % 3 == 1 and len(whole) > 3:
                whole = f"{whole[:-3]}.{whole[-3:]}"
            text = f"{whole},{cents}"
            return f"€ {text}" if self.v % 2 else text
        return text

    def count(self, value) -> object:
        if value is None or pd.isna(value):
            return ""
        value = int(value)
        if self.layout.fmt == "xlsx":
            return value
        if self.layout.decimal_comma and value >= 1000 and self.v % 2:
            return f"{value // 1000}.{value % 1000:03d}"
        return str(value)

    def boolean(self, value: bool) -> object:
        style = self.v % 4
        if style == 0:
            return "ja" if value else "nee"
        if style == 1:
            return "x" if value else ""
        if style == 2:
            return (1 if value else 0) if self.layout.fmt == "xlsx" else ("1" if value else "0")
        return "j" if value else "n"

    def gemeente(self, code: str) -> object:
        style = (self.v + int(self.rng.integers(0, 4))) % 5
        if style == 1:
            return code
        if style == 2 and code in WOONPLAATS and self.rng.random() < 0.5:
            return WOONPLAATS[code]
        if style == 3:
            return f"Gemeente {NAMES[code]}"
        if style == 4:
            return NAMES[code].upper()
        return NAMES[code]

    def herkomst(self, value: str) -> object:
        if value == "onbekend":
            return ["", "Onbekend", "onbekend"][self.v % 3]
        return self.gemeente(value) if value in NAMES else value

    def vocab(self, table: dict[str, list[str]], code) -> str:
        if code is None or (isinstance(code, float) and np.isnan(code)):
            return ""
        return pick(table[code], self.v + int(self.rng.integers(0, 3)))

    def inschrijfnummer(self, number: int) -> object:
        if self.layout.fmt == "xlsx" and self.v % 2:
            return float(number)  # Excel's numbers come back with a trailing .0
        return f"{number:09d}" if self.v % 3 == 2 else str(number)

    # Column-wise spellings: one call per column, the scalar spelling once per distinct value.
    def dates(self, values) -> np.ndarray:
        return per_value(self.date, values)

    def amounts(self, values) -> np.ndarray:
        return per_value(self.amount, values)

    def counts(self, values) -> np.ndarray:
        return per_value(self.count, values)

    def booleans(self, values) -> np.ndarray:
        return per_value(self.boolean, np.asarray(values, dtype=bool))

    def inschrijfnummers(self, numbers) -> np.ndarray:
        return per_value(self.inschrijfnummer, numbers)

    def gemeenten(self, codes) -> np.ndarray:
        """Per row one of five spellings (code, name, a woonplaats, `Gemeente X`, upper case), as ``gemeente``."""
        codes = np.asarray(codes, dtype=object)
        n = len(codes)
        style = (self.v + self.rng.integers(0, 4, n)) % 5
        woonplaats = self.rng.random(n) < 0.5
        idx, uniques = pd.factorize(codes)
        table = np.array(
            [
                [NAMES[c], c, WOONPLAATS.get(c, NAMES[c]), f"Gemeente {NAMES[c]}", NAMES[c].upper()]
                for c in uniques
            ],
            dtype=object,
        ).reshape(len(uniques), 5)
        column = np.where((style == 2) & ~woonplaats, 0, style)
        return table[idx, column] if n else np.empty(0, dtype=object)

    def herkomsten(self, values) -> np.ndarray:
        out = np.asarray(values, dtype=object).copy()
        named = np.isin(out, list(NAMES))
        out[out == "onbekend"] = ["", "Onbekend", "onbekend"][self.v % 3]
        out[named] = self.gemeenten(out[named])
        return out

    def vocabs(self, table: dict[str, list[str]], codes) -> np.ndarray:
        """Per row one of the code's spellings, as ``vocab``; an empty code stays empty."""
        codes = np.asarray(codes, dtype=object)
        shift = self.v + self.rng.integers(0, 3, len(codes))
        out = np.full(len(codes), "", dtype=object)
        for code, options in table.items():
            rows = codes == code
            if rows.any():
                out[rows] = np.array(options, dtype=object)[shift[rows] % len(options)]
        return out


def per_value(fn, values) -> np.ndarray:
    """Apply a scalar formatter once per distinct value (a column has few distinct dates, rents, counts)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    out = np.empty(len(uniques), dtype=object)
    out[:] = [fn(u) for u in uniques]
    return out[codes]


def fits_excel(n_rows: int) -> bool:
    """Whether a table of n data rows (plus title, header and Totaal rows) fits one Excel sheet."""
    return n_rows + 6 <= EXCEL_MAX_ROWS


def write_table(path: Path, frame: pd.DataFrame, layout: Layout, title: str) -> Path:
    """Write a frame (columns = the header as the supplier writes it) as xlsx or csv; over Excel's limit csv.

    xlsx is written with XlsxWriter in constant-memory mode (row by row, a fraction of openpyxl's time).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    header = list(frame.columns)
    if layout.fmt == "xlsx" and fits_excel(len(frame)):
        wb = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "default_date_format": "dd-mm-yyyy",
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        ws = wb.add_worksheet("Export")
        top = 0
        if layout.title_rows:
            ws.write_row(0, 0, [title])
            ws.write_row(1, 0, [f"Aangemaakt op {dt.date.today():%d-%m-%Y}"])
            top = 3
        ws.write_row(top, 0, header)
        for r, row in enumerate(frame.itertuples(index=False, name=None), top + 1):
            ws.write_row(r, 0, row)
        if layout.total_row:
            ws.write_row(top + len(frame) + 2, 0, ["Totaal", f"{len(frame)} regels"])
        if layout.variant % 3 == 0:  # a hidden helper sheet that must be ignored
            hidden = wb.add_worksheet("Keuzelijsten")
            hidden.hide()
            hidden.write_row(0, 0, header)
        wb.close()
        return path
    path = path.with_suffix(".csv")
    frame.to_csv(
        path,
        sep=layout.delimiter,
        encoding=layout.encoding,
        errors="replace",
        index=False,
        lineterminator="\r\n",
        na_rep="",
    )
    return path


def layout_for(i: int, fmt: str, pii: bool = False) -> Layout:
    csv_style = i % 3
    return Layout(
        fmt=fmt,
        variant=i,
        delimiter=";" if csv_style != 1 else ",",
        encoding="cp1252" if csv_style == 0 else ("utf-8-sig" if csv_style == 1 else "utf-8"),
        decimal_comma=csv_style != 1,
        title_rows=i % 2 == 0,
        total_row=True,
        pii=pii,
    )
