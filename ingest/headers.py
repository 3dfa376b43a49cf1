"""Match a file's header row to the canonical columns of its source (sources.md §2, §5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest import privacy
from ingest.config import IngestConfig, SourceSpec
from ingest.text import match_key
from ingest.values import as_text, is_empty


@dataclass
class HeaderMatch:
    """What a header row means: canonical column per position, and what is left out."""

    columns: dict[int, str] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)  # canonical -> header as written in the file
    dropped: list[str] = field(default_factory=list)  # direct identifiers, never read
    ignored: list[str] = field(default_factory=list)  # unknown or unused columns, default-deny (as shown)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)  # every header of the row, as it may be shown (privacy)

    def missing(self, source: SourceSpec) -> list[str]:
        return [c for c in source.required if c not in self.seen]


def synonyms(source: SourceSpec) -> dict[str, str]:
    """match_key of every accepted header (and the canonical name itself) -> canonical column."""
    lookup: dict[str, str] = {}
    for col in source.columns.values():
        for variant in (col.name, *col.headers):
            key = match_key(variant)
            if lookup.get(key, col.name) != col.name:
                raise ValueError(
                    f"{source.name}: header {variant!r} is listed for both {lookup[key]} and {col.name}"
                )
            lookup[key] = col.name
    return lookup


def match_headers(row: list[object], source: SourceSpec, config: IngestConfig) -> HeaderMatch:
    """Map one candidate header row; unknown and identifying columns are listed, not read.

    Headers the configuration does not know are kept only in reduced form (``ingest.privacy.header``):
    a supplier may have typed a name or a BSN where a header belongs.
    """
    lookup = synonyms(source)
    result = HeaderMatch()
    for pos, cell in enumerate(row):
        if is_empty(cell):
            continue
        text = as_text(cell)
        result.headers.append(privacy.header(text, config.known_headers))
        key = match_key(text)
        if key in lookup and source.columns[lookup[key]].type == "niet_geladen":
            result.ignored.append(text)  # a known header: its column is recognised but never read
        elif key in lookup:
            canonical = lookup[key]
            if canonical in result.seen:
                result.duplicates.setdefault(canonical, [result.seen[canonical]]).append(text)
                continue
            result.columns[pos] = canonical
            result.seen[canonical] = text
        elif key in config.direct_identifiers:
            result.dropped.append(text)
        else:
            result.ignored.append(privacy.header(text, config.known_headers))
    return result
