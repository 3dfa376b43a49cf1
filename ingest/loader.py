"""Parse one landing file into canonical rows, quarantine entries and a load report."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingest.config import IngestConfig, SourceSpec
from ingest.headers import HeaderMatch, match_headers
from ingest.landing import LandingFile
from ingest.normalise import normalise
from ingest.readers import BadFile, Sheet, read_sheets

SUMMARY_PREFIXES = ("totaal", "total")


@dataclass
class ParsedFile:
    """What one file yields; nothing here has touched the warehouse yet."""

    rows: pd.DataFrame
    quarantine: list[dict]
    blad: str | None
    rijen_gelezen: int
    totaalrijen_overgeslagen: int
    kolommen_genegeerd: list[str] = field(default_factory=list)
    kolommen_verwijderd: list[str] = field(default_factory=list)


def _find_header(sheets: list[Sheet], source: SourceSpec, config: IngestConfig) -> tuple[Sheet, int, HeaderMatch]:
    best: tuple[int, HeaderMatch | None] = (-1, None)
    for sheet in sheets:
        limit = min(sheet.header_search_rows, len(sheet.cells))
        for pos in range(limit):
            match = match_headers(list(sheet.cells.iloc[pos]), source, config)
            found = len(source.required) - len(match.missing(source))
            if found == len(source.required):
                if match.duplicates:
                    col, heads = next(iter(match.duplicates.items()))
                    raise BadFile(f"two columns match the same column '{col}': "
                                  + ", ".join(f"'{h}'" for h in heads))
                return sheet, pos, match
            if found > best[0] and match.headers:
                best = (found, match)
    if best[1] is None:
        raise BadFile("no sheet with the required headers (the file holds no header row)")
    missing = best[1].missing(source)
    where = "" if len(sheets) == 1 else " in any visible sheet"
    noun = "column" if len(missing) == 1 else "columns"
    message = (f"required {noun} {', '.join(repr(m) for m in missing)} not found{where}; "
               f"headers seen: {', '.join(best[1].headers)}")
    raise BadFile(message)


def parse_file(file: LandingFile, config: IngestConfig, key: bytes) -> ParsedFile:
    """Read, match headers and normalise one file; raises ``BadFile`` for a file that cannot load."""
    source = config.sources[file.bron]
    sheets = read_sheets(file.path)
    sheet, header_pos, match = _find_header(sheets, source, config)
    body = sheet.cells.iloc[header_pos + 1:]
    empty = body.isna().to_numpy() | body.apply(lambda c: c.astype(str).str.strip().eq("")).to_numpy(dtype=bool)
    nonempty = ~empty.all(axis=1) if len(body) else np.zeros(0, dtype=bool)
    body, empty = body.loc[nonempty], empty[nonempty]
    # A summary row: its first non-empty cell starts with Totaal/Total.
    first = body.to_numpy(dtype=object)[np.arange(len(body)), (~empty).argmax(axis=1)] if len(body) else []
    summary = pd.Series(first, dtype=object).astype(str).str.strip().str.lower() \
        .str.startswith(SUMMARY_PREFIXES).to_numpy(dtype=bool)
    data = body.loc[~summary]
    cells = pd.DataFrame({name: data.iloc[:, pos].to_numpy(dtype=object) for pos, name in match.columns.items()})
    context = {"commissie": file.commissie, "peildatum": file.leverdatum}
    result = normalise(cells, data.index.to_numpy(), match.seen, source, config, key, context)
    return ParsedFile(rows=result.rows, quarantine=result.quarantine, blad=sheet.name,
                      rijen_gelezen=len(data), totaalrijen_overgeslagen=int(summary.sum()),
                      kolommen_genegeerd=match.ignored, kolommen_verwijderd=match.dropped)
