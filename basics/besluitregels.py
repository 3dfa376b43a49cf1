"""The rules that turn the monitor's figures into the board's besluitpunten (issue 21, "page one decides").

The defaults, each with its source, are ``besluitregels.yaml`` beside this module; a region adjusts them in its
pack with the optional file ``regions/<regio>/besluitpunten.yaml`` (same sections and keys, each optional).
``load`` merges the two and checks the pack's file: a key or value it cannot use is a ``BadRules`` naming the
file, the line and the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

DEFAULTS = Path(__file__).with_name("besluitregels.yaml")
PACK_FILE = "besluitpunten.yaml"

# key -> (lowest, highest) a value may take; `bron` (the source, text) is allowed in every section.
BEREIK: dict[str, dict[str, tuple[float, float]]] = {
    "op_koers": {"marge_huishoudens": (0, 1_000)},
    "compensatie": {"tekort_huishoudens": (0, 1_000), "tekort_pct": (0, 100)},
    "ingroeipad": {"achterstand_pct": (0, 100)},
    "prognose": {"zekerheid_pct": (50, 99.9)},
}


class BadRules(ValueError):
    """A besluitpunten.yaml the report cannot use (names file, line and key)."""


@functools.cache
def defaults() -> dict[str, dict]:
    """The shipped rules (``besluitregels.yaml``), as sections of key -> value."""
    return _checked(DEFAULTS, DEFAULTS.read_text(encoding="utf-8"))


def load(pack: Path | None) -> dict[str, dict]:
    """The rules for a region pack folder: the defaults, with what its ``besluitpunten.yaml`` sets (if any)."""
    rules = {section: dict(values) for section, values in defaults().items()}
    file = None if pack is None else pack / PACK_FILE
    if file is None or not file.is_file():
        return rules
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRules(f"{file}: cannot be read as UTF-8 text ({exc})") from exc
    for section, values in _checked(file, text).items():
        rules[section].update(values)
    return rules


def _checked(file: Path, text: str) -> dict[str, dict]:
    """The file's sections, each key and value checked against ``BEREIK``; BadRules on the first fault."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise BadRules(f"{file}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise BadRules(f"{file} line {root.start_mark.line + 1}: expected sections ({', '.join(BEREIK)})")
    out: dict[str, dict] = {}
    for key_node, section_node in root.value:
        section = key_node.value
        line = key_node.start_mark.line + 1
        if section not in BEREIK:
            raise BadRules(f"{file} line {line}: unknown section '{section}' (known: {', '.join(BEREIK)})")
        if not isinstance(section_node, yaml.MappingNode):
            raise BadRules(
                f"{file} line {line}: section '{section}' must hold keys ({', '.join(BEREIK[section])})"
            )
        values: dict = {}
        for k_node, v_node in section_node.value:
            key, line = k_node.value, k_node.start_mark.line + 1
            value = yaml.safe_load(yaml.serialize(v_node))
            if key == "bron":
                if not isinstance(value, str) or not value.strip():
                    raise BadRules(f"{file} line {line}: key '{section}.bron' must be a text (the source)")
                values[key] = value.strip()
                continue
            if key not in BEREIK[section]:
                raise BadRules(
                    f"{file} line {line}: unknown key '{section}.{key}' "
                    f"(known: {', '.join([*BEREIK[section], 'bron'])})"
                )
            low, high = BEREIK[section][key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise BadRules(
                    f"{file} line {line}: key '{section}.{key}' must be a number from {low:g} to {high:g}, "
                    f"not {value!r}"
                )
            values[key] = value
        out[section] = values
    return out
