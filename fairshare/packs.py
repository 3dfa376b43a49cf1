"""`fairshare regio nieuw | registreer | controleer`: a region adopts fairshare without touching code.

`nieuw` copies an example pack to ``regions/<code>/`` and registers it; `registreer` registers the packs in
``regions/`` where Dagster needs them (one code location per pack in ``workspace.yaml``, the pool limit of
``orchestration/dagster-regios.yaml`` = the number of packs), for a pack copied or removed by hand; `controleer`
lists every problem of a pack (``basics.packcheck``), as `fairshare run` checks it before it reads anything.

Both files are edited as text, not re-dumped as YAML: their comments and any entry written by hand (a
``grpc_server`` of a deployment) stay as they are; only entries of ``orchestration.regions`` whose pack is gone
are removed, and a pack without an entry gets one at the end of ``load_from``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sys
from pathlib import Path

import click
import yaml

from basics import packcheck, paths, region, seeds

EXIT_USAGE = 2
WORKSPACE = paths.ROOT / "workspace.yaml"
INSTANCE_REGIOS = paths.ROOT / "orchestration" / "dagster-regios.yaml"
DEFAULT_EXAMPLE = "voorbeeld"
# The module a pack's code location loads (`attribute: <regio>`), and the default region's own location.
REGIONS_MODULE = "orchestration.regions"
DEFAULT_MODULE, DEFAULT_ATTRIBUTE = "orchestration.definitions", "defs"
_ITEM = re.compile(r"^(\s+)- ")
_POOL_LIMIT = re.compile(r"^(\s+default_limit:\s*)\d+")


def _stop(message: str) -> None:
    click.echo(f"fairshare: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _write(path: Path, text: str) -> None:
    """Replace a file at once: Dagster's webserver may read it meanwhile."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _entry(regio: str) -> str:
    module, attribute = (
        (DEFAULT_MODULE, DEFAULT_ATTRIBUTE) if regio == region.DEFAULT_REGIO else (REGIONS_MODULE, regio)
    )
    return (
        f"  - python_module:\n      module_name: {module}\n      attribute: {attribute}\n"
        f"      location_name: {regio}\n"
    )


def synced_workspace(text: str, packs: list[str]) -> tuple[str, list[str], list[str]]:
    """``workspace.yaml``'s text with one code location per pack: (text, locations added, locations removed).

    An entry of ``orchestration.regions`` whose pack is gone is removed with its lines; every other line stays.
    """
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "load_from:"), None)
    if start is None:
        lines += ["load_from:\n"]
        start = len(lines) - 1
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i][0].isspace()),
        len(lines),
    )
    items = [i for i in range(start + 1, end) if _ITEM.match(lines[i])]
    blocks = [(a, b) for a, b in zip(items, [*items[1:], end], strict=True)]
    known, gone = set(), []
    for a, b in blocks:
        entry = (yaml.safe_load("".join(lines[a:b])) or [{}])[0] or {}
        module = entry.get("python_module") or {}
        name = module.get("location_name") or (entry.get("grpc_server") or {}).get("location_name")
        if module.get("module_name") == REGIONS_MODULE and module.get("attribute") not in packs:
            gone.append((a, b, name))
        elif name:
            known.add(name)
    for a, b, _ in reversed(gone):
        del lines[a:b]
        end -= b - a
    added = [p for p in packs if p not in known]
    if end and lines[end - 1] and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    lines[end:end] = [_entry(p) for p in added]
    return "".join(lines), added, [name for _, _, name in gone]


def synced_pool_limit(text: str, packs: int) -> str:
    """``dagster-regios.yaml`` with the pool limit (``pools: default_limit``) set to the number of packs."""
    lines = text.splitlines(keepends=True)
    indent = None  # the indentation of `pools:` while inside its block
    for i, line in enumerate(lines):
        depth = len(line) - len(line.lstrip())
        if line.split("#")[0].strip() == "pools:":
            indent = depth
        elif indent is not None and line.strip() and not line.lstrip().startswith("#") and depth <= indent:
            indent = None
        elif indent is not None and _POOL_LIMIT.match(line):
            lines[i] = _POOL_LIMIT.sub(lambda m: f"{m.group(1)}{packs}", line, count=1)
            return "".join(lines)
    raise click.ClickException(f"{INSTANCE_REGIOS} has no 'pools: default_limit:' to set")


def register(workspace: Path = WORKSPACE, instance: Path = INSTANCE_REGIOS) -> list[str]:
    """Bring the workspace and the pool limit in line with the packs in ``regions/``; what changed, in words."""
    packs = region.regions()
    said = []
    text = workspace.read_text(encoding="utf-8") if workspace.exists() else ""
    new, added, removed = synced_workspace(text, packs)
    if new != text:
        _write(workspace, new)
    said += [f"code location '{p}' added to {workspace.name}" for p in added]
    said += [f"code location '{p}' removed from {workspace.name} (no pack regions/{p}/)" for p in removed]
    text = instance.read_text(encoding="utf-8")
    new = synced_pool_limit(text, len(packs))
    if new != text:
        _write(instance, new)
        said.append(f"pool limit {len(packs)} (one step per region) in orchestration/{instance.name}")
    return said


def _named(code: str) -> str:
    """The placeholder name of a new region: its code in words (foodvalley -> Regio Foodvalley)."""
    return "Regio " + " ".join(w.capitalize() for w in code.split("_") if w)


def _fill_regio(path: Path, code: str) -> dict[str, str]:
    """The copy's regio.csv: its own code and a name from it; fictief true (the figures are still the
    example's), no contact (the example's is not yours). Returns the row written."""
    with open(path, newline="", encoding=seeds.ENCODING) as fh:
        reader = csv.DictReader(fh)
        header, [row] = list(reader.fieldnames or []), [r for r in reader if any(r.values())]
    row.update(regio_code=code, regio_naam=_named(code))
    if "fictief" in header:
        row["fictief"] = "true"
    if "contact" in header:
        row["contact"] = ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    path.write_text(out.getvalue(), encoding="utf-8")
    return row


@click.group()
def regio() -> None:
    """A region pack in regions/<code>/: make one, register it for Dagster, check it."""


@regio.command()
@click.argument("code")
@click.option(
    "--naar-voorbeeld-van",
    "example",
    default=DEFAULT_EXAMPLE,
    show_default=True,
    metavar="PACK",
    help="The pack to copy (any pack in regions/).",
)
def nieuw(code: str, example: str) -> None:
    """Copy an example pack to regions/<code>/ and register it (workspace.yaml, pool limit).

    Exit status: 0 made, 2 usage (an invalid code, a pack that exists, an unknown example; nothing written).
    """
    if not region._CODE.match(code):
        _stop(
            f"'{code}' is not a region code: lower-case letters, digits and _, starting with a letter "
            "(e.g. foodvalley)"
        )
    target = region.REGIONS_DIR / code
    if target.exists():
        _stop(
            f"regions/{code}/ exists already: choose another code, or register a pack copied by hand with "
            f"`fairshare regio registreer`"
        )
    try:
        source = region.regio_dir(example)
    except region.UnknownRegion as exc:
        _stop(f"--naar-voorbeeld-van: {exc}")
    tmp = region.REGIONS_DIR / f".{code}.{os.getpid()}.tmp"
    shutil.copytree(source, tmp)
    try:
        row = _fill_regio(tmp / "seeds" / "regio.csv", code)
        os.replace(tmp, target)  # a half-made pack is never listed (regions() looks for seeds/regio.csv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    click.echo(
        f"Made regions/{code}/ as a copy of regions/{example}/: regio_code {code}, regio_naam "
        f"'{row['regio_naam']}', fictief true until your own figures are in, contact empty"
    )
    for line in register():
        click.echo(f"  {line}")
    click.echo(
        f"Next: fill its seeds (README, 'Adopting fairshare for your region'), then "
        f"`fairshare regio controleer {code}`"
    )


@regio.command()
def registreer() -> None:
    """Register every pack in regions/ for Dagster: a code location each in workspace.yaml (a pack removed
    loses its own), the pool limit in orchestration/dagster-regios.yaml = the number of packs. Idempotent."""
    said = register()
    for line in said:
        click.echo(f"  {line}")
    click.echo(
        f"{len(region.regions())} region packs registered ({', '.join(region.regions())})"
        + ("" if said else ": nothing to change")
    )


@regio.command()
@click.argument("code")
def controleer(code: str) -> None:
    """Check a pack before anything runs: one line per problem, naming file, line and column.

    Exit status: 0 no problem, 2 problems (listed on stdout; one sentence on stderr) or an unknown region.
    """
    try:
        found = packcheck.problems(code)
    except region.UnknownRegion as exc:
        _stop(str(exc))
    for problem in found:
        click.echo(str(problem))
    if found:
        _stop(
            f"the region pack regions/{code}/ has {len(found)} problem{'s' if len(found) > 1 else ''} (above)"
        )
    click.echo(f"regions/{code}/: no problems found")
