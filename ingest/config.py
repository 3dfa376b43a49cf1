"""The ingest configuration: source contracts, vocabularies and reference lists, as data.

Header synonyms and vocabularies live in ``ingest/config/*.yaml``; the CBS list of all Dutch gemeenten in the
national dbt seeds; gemeenten, woonplaatsen, corporations and committees in the region's seeds
(``regions/<regio>/seeds``, ``basics.region``): one copy of each reference list. ``config_hash`` changes whenever
any of them does, so that a configuration fix makes the pipeline process files again.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from basics import region, seeds
from basics.paths import SEEDS_DIR
from ingest.limits import csv_limits, xlsx_limits
from ingest.text import match_key

CONFIG_DIR = Path(__file__).parent / "config"
# Bump when a change in the ingest code changes what a file yields: files are then processed again.
# 2: personal data reduced at the door; 3: csv lines all accounted for, serial 60 (issue 18); 4: reasons
# as codes (issue 19: files are read again so that their rejection and quarantine rows get codes); 5: the
# quarantine keeps each row as the supplier's list shows it (issue 20, ``audit.quarantaine.getoond``); 6: a
# committee's label names it in the Commissie column (issue 23: rows quarantined for it load now).
INGEST_LOGIC_VERSION = "6"
# The source key of the allocations (sources.yaml): the raw source's own name, which spec/sources.md gives its
# landing folder and audit.bestanden its bron. Code names the source through this constant, never the region's
# label for the corporations that deliver it (seed regio, samenwerkend_label).
TOEWIJZINGEN = "swev"


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column of a source (sources.md §3)."""

    name: str
    type: str
    headers: tuple[str, ...]
    required: bool = False
    vocabulary: str | None = None
    default: object = None
    empty_value: str | None = None
    min: float | None = None
    max: float | None = None
    below: float | None = None
    segment: bool = False
    at_most: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """One source: its landing folder, file-name pattern, table, Dutch label and columns."""

    name: str
    folder: str
    pattern: str
    pattern_text: str
    table: str
    natural_key: tuple[str, ...]
    columns: dict[str, ColumnSpec]
    label: str = ""  # the region's Dutch name of the source (board report, supplier list, gate)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]


@dataclass(frozen=True)
class Vocabulary:
    """Canonical codes with their accepted values, matched on ``match_key``."""

    name: str
    lookup: dict[str, str]
    catch_all: str | None = None
    # code -> its accepted values as the configuration spells them (national first, then the region's)
    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class IngestConfig:
    """Everything ingest needs to read files; build with ``load_config``."""

    sources: dict[str, SourceSpec]
    vocabularies: dict[str, Vocabulary]
    direct_identifiers: frozenset[str]
    commissies: tuple[str, ...]
    herkomst_onbekend: frozenset[str]
    gemeenten: list[dict[str, str]]
    woonplaatsen: list[dict[str, str]]
    config_hash: str
    files: list[Path] = field(default_factory=list)
    corporaties: list[dict[str, str]] = field(default_factory=list)
    cbs_gemeenten: list[dict[str, str]] = field(default_factory=list)
    other_headers: tuple[str, ...] = ()
    sheet_word_list: tuple[str, ...] = ()
    regio_naam: str = ""  # the region's name in messages ("... is not a gemeente of <regio_naam>")
    commissie_rows: list[dict[str, str]] = field(default_factory=list)  # the region's seed commissies

    @cached_property
    def corporatie_lookup(self) -> dict[str, str]:
        """match_key of a corporation in the seed -> its canonical name (stored verbatim)."""
        return {match_key(c["corporatie"]): c["corporatie"] for c in self.corporaties}

    @cached_property
    def cbs_gemeente_lookup(self) -> dict[str, str]:
        """match_key of any Dutch gemeente (CBS code, name, name without its province suffix, 'Gemeente
        <name>', a common other name) -> the name to store. An ambiguous short name (`Bergen`) stays as is."""
        lookup: dict[str, str] = {}
        short: dict[str, set[str]] = {}
        for g in self.cbs_gemeenten:
            code, name = g["gemeente_code"], g["gemeente_naam"]
            for variant in (
                code,
                code[2:],
                str(int(code[2:])),
                name,
                f"Gemeente {name}",
                g.get("andere_naam") or "",
            ):
                if variant:
                    lookup[match_key(variant)] = name
            bare = re.sub(r"\s*\([^)]*\)$", "", name)
            short.setdefault(bare, set()).add(name)
        for bare, names in short.items():
            lookup.setdefault(match_key(bare), next(iter(names)) if len(names) == 1 else bare)
        return lookup

    @cached_property
    def known_headers(self) -> frozenset[str]:
        """match_key of every header the configuration knows: shown verbatim in messages and the load report."""
        known = {
            match_key(v)
            for s in self.sources.values()
            for c in s.columns.values()
            for v in (c.name, *c.headers)
        }
        return frozenset(known | set(self.direct_identifiers) | {match_key(h) for h in self.other_headers})

    @cached_property
    def sheet_words(self) -> frozenset[str]:
        """Words a sheet name may consist of to be shown by name (``ingest.privacy.sheet_label``)."""
        words: set[str] = set()
        texts = [*self.sheet_word_list, *(s.name for s in self.sources.values())]
        texts += [v for s in self.sources.values() for c in s.columns.values() for v in (c.name, *c.headers)]
        texts += [*self.other_headers, *(g["gemeente_naam"] for g in self.gemeenten)]
        for text in texts:
            words |= {match_key(t) for t in re.findall(r"[^\W\d_]+", text)}
        return frozenset(words)

    @cached_property
    def gemeente_lookup(self) -> dict[str, str]:
        """match_key of a CBS code (GMxxxx, xxxx, without leading zeros), name, 'Gemeente <name>' or woonplaats -> code."""
        lookup: dict[str, str] = {}
        for g in self.gemeenten:
            code = g["gemeente_code"]
            digits = code[2:]
            for variant in (
                code,
                digits,
                str(int(digits)),
                g["gemeente_naam"],
                f"Gemeente {g['gemeente_naam']}",
            ):
                lookup[match_key(variant)] = code
        for w in self.woonplaatsen:
            lookup.setdefault(match_key(w["woonplaats"]), w["gemeente_code"])
        return lookup

    @cached_property
    def gemeente_names(self) -> dict[str, str]:
        """match_key -> name of every gemeente (the region's and the CBS list) and woonplaats: the values a
        misspelt gemeente is compared with (``ingest.privacy.near_miss``)."""
        names = {match_key(g["gemeente_naam"]): g["gemeente_naam"] for g in self.cbs_gemeenten}
        names.update({match_key(w["woonplaats"]): w["woonplaats"] for w in self.woonplaatsen})
        names.update({match_key(g["gemeente_naam"]): g["gemeente_naam"] for g in self.gemeenten})
        return names

    @cached_property
    def commissie_keys(self) -> dict[str, str]:
        """match_key of every way to name a committee, to itself (for ``ingest.privacy.near_miss``)."""
        return {k: k for k in self.commissie_lookup}

    def spelled(self, vocabulary: str) -> dict[str, str]:
        """match_key -> spelling of every accepted value of a vocabulary (for ``ingest.privacy.near_miss``)."""
        made = self.__dict__.setdefault(
            "_spelled", {}
        )  # one dict per vocabulary: near_miss memoises per dict
        if vocabulary not in made:
            vocab = self.vocabularies[vocabulary]
            made[vocabulary] = {match_key(v): v for vs in vocab.spellings.values() for v in vs if v}
        return made[vocabulary]

    @cached_property
    def commissie_lookup(self) -> dict[str, str]:
        """match_key of a committee key, name, label or alias, or of the gemeente (name, code, woonplaats) of a
        committee of one gemeente -> committee key (seed commissies of the region). The label is how the
        pack's own texts name the committee, so a register may well use it (reference data: shown as typed)."""
        by_code = {g["gemeente_code"]: g["commissie"] for g in self.gemeenten}
        lookup = {match_key(k): k for k in self.commissies}
        for key, code in self.gemeente_lookup.items():
            if by_code.get(code) in self.commissies:
                lookup.setdefault(key, by_code[code])
        for c in self.commissie_rows:
            for alias in [c.get("naam") or "", c.get("label") or "", *(c.get("aliassen") or "").split(";")]:
                if alias.strip():
                    lookup[match_key(alias)] = c["commissie"]
        return lookup


def _sources_of(src: dict) -> dict[str, dict]:
    """The sources of a parsed ``sources.yaml`` in load order: its top-level entries that name a ``table``."""
    return {name: entry for name, entry in src.items() if isinstance(entry, dict) and "table" in entry}


@functools.cache
def _source_entries(config_dir: Path = CONFIG_DIR) -> dict[str, dict]:
    return _sources_of(yaml.safe_load((config_dir / "sources.yaml").read_text(encoding="utf-8")))


def source_names(config_dir: Path = CONFIG_DIR) -> tuple[str, ...]:
    """The source keys (``TOEWIJZINGEN``, ...) in load order: the one source list (reads only ``sources.yaml``)."""
    return tuple(_source_entries(config_dir))


def source_folders(config_dir: Path = CONFIG_DIR) -> dict[str, str]:
    """Source key -> its subfolder of the landing folder."""
    return {name: e["folder"] for name, e in _source_entries(config_dir).items()}


def source_tables(config_dir: Path = CONFIG_DIR) -> dict[str, tuple[str, str]]:
    """Source key -> its raw table as (schema, table), e.g. ``("raw", "swev_toewijzingen")``."""
    return {name: tuple(e["table"].split(".", 1)) for name, e in _source_entries(config_dir).items()}


def source_descriptions(config_dir: Path = CONFIG_DIR) -> dict[str, str]:
    """Source key -> the Dutch description of its raw table (region-neutral: one Dagster code location)."""
    return {name: e["description"] for name, e in _source_entries(config_dir).items()}


def source_labels(samenwerkend: str, config_dir: Path = CONFIG_DIR) -> dict[str, str]:
    """Source key -> its Dutch label, with the region's label for its cooperating corporations filled in."""
    return {
        name: e["label"].format(samenwerkend=samenwerkend) for name, e in _source_entries(config_dir).items()
    }


def _vocabulary(name: str, spec: dict) -> Vocabulary:
    lookup: dict[str, str] = {}
    for code, values in spec["values"].items():
        for value in [code, *values]:
            key = match_key(value)
            if key in lookup and lookup[key] != code:
                raise ValueError(
                    f"vocabulary '{name}': value {value!r} maps to both {lookup[key]!r} and {code!r}"
                )
            lookup[key] = code
    spellings = {code: tuple(values) for code, values in spec["values"].items()}
    return Vocabulary(name=name, lookup=lookup, catch_all=spec.get("catch_all"), spellings=spellings)


def _add_variants(src: dict, voc: dict, extra: dict) -> None:
    """Merge a region's supplier variants (``headers: {source: {column: [...]}}``, ``values: {vocabulary:
    {code: [...]}}``) into the national configuration, after its own variants."""
    for source, columns in (extra.get("headers") or {}).items():
        for col, headers in columns.items():
            src[source]["columns"][col]["headers"] = [*src[source]["columns"][col]["headers"], *headers]
    for name, codes in (extra.get("values") or {}).items():
        for code, values in codes.items():
            voc[name]["values"][code] = [*(voc[name]["values"].get(code) or []), *values]


def load_config(
    config_dir: Path = CONFIG_DIR, seeds_dir: Path = SEEDS_DIR, regio: str | None = None
) -> IngestConfig:
    """Read the YAML configuration, the national seeds and the region's seeds; compute the configuration hash."""
    regio_seeds = region.seeds_dir(regio)
    files = [
        config_dir / "sources.yaml",
        config_dir / "vocabularies.yaml",
        regio_seeds / "gemeenten.csv",
        regio_seeds / "woonplaatsen.csv",
        regio_seeds / "corporaties.csv",
        seeds_dir / "cbs_gemeenten.csv",
        regio_seeds / "commissies.csv",
        regio_seeds / "regio.csv",
    ]
    # Optional: the region's own header and value variants of its suppliers (regions/<regio>/leveranciers.yaml).
    variants_file = regio_seeds.parent / "leveranciers.yaml"
    if variants_file.exists():
        files.append(variants_file)
    digest = hashlib.sha256(INGEST_LOGIC_VERSION.encode())
    for f in files:
        digest.update(f.read_bytes())
    # The reading limits decide which files are rejected: raising one (as a rejection's reason suggests) must
    # make the next run read those files again, like any other configuration change.
    digest.update(repr(sorted({**csv_limits(), **xlsx_limits()}.items())).encode())
    src = yaml.safe_load(files[0].read_text(encoding="utf-8"))
    pack = region.load_regio(regio)
    voc = yaml.safe_load(files[1].read_text(encoding="utf-8"))
    if variants_file.exists():
        _add_variants(src, voc, yaml.safe_load(variants_file.read_text(encoding="utf-8")) or {})

    sources = {}
    for name, s in _sources_of(src).items():
        cols = {}
        for col, c in s["columns"].items():
            cols[col] = ColumnSpec(
                name=col,
                type=c["type"],
                headers=tuple(c["headers"]),
                required=c.get("required", False),
                vocabulary=c.get("vocabulary"),
                default=c.get("default"),
                empty_value=c.get("empty_value"),
                min=c.get("min"),
                max=c.get("max"),
                below=c.get("below"),
                segment=c.get("segment", False),
                at_most=c.get("at_most"),
            )
        sources[name] = SourceSpec(
            name=name,
            folder=s["folder"],
            pattern=s["pattern"],
            pattern_text=s["pattern_text"].format(commissies=", ".join(pack.commissie_keys)),
            table=s["table"],
            natural_key=tuple(s["natural_key"]),
            columns=cols,
            label=s["label"].format(samenwerkend=pack.samenwerkend_label),
        )
    vocabularies = {n: _vocabulary(n, v) for n, v in voc.items() if isinstance(v, dict)}
    return IngestConfig(
        sources=sources,
        vocabularies=vocabularies,
        direct_identifiers=frozenset(match_key(x) for x in src["direct_identifiers"]),
        commissies=pack.commissie_keys,
        herkomst_onbekend=frozenset(match_key(x) for x in voc["herkomst_onbekend"]),
        gemeenten=seeds.read(regio_seeds / "gemeenten.csv"),
        woonplaatsen=seeds.read(regio_seeds / "woonplaatsen.csv"),
        config_hash=digest.hexdigest()[:16],
        files=files,
        corporaties=seeds.read(regio_seeds / "corporaties.csv"),
        cbs_gemeenten=seeds.read(seeds_dir / "cbs_gemeenten.csv"),
        other_headers=tuple(src.get("other_headers", ())),
        sheet_word_list=tuple(src.get("sheet_words", ())),
        regio_naam=pack.naam,
        commissie_rows=list(pack.commissies),
    )
