"""GX Data Docs that open offline, styled, and one overview of every run's suites.

GX's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome and a logo from CDNs; the
versions they name are shipped in ``data_docs_assets/vendor`` (licences beside them) and copied into
the site, and every rendered page is pointed at them. ``overzicht.html`` lists each run of the gate
(newest first) with every suite's verdict, rows and unexpected rows, then the latest run per expectation.
"""

from __future__ import annotations

import html
import re
import shutil
from collections import defaultdict
from pathlib import Path

from basics.dutch import getal

VENDOR = Path(__file__).with_name("data_docs_assets") / "vendor"
OVERVIEW = "overzicht.html"
# GX 1.24's templates (render/view/templates: page.j2, index_page.j2, js_script_imports.j2, top_navbar.j2):
# each CDN address, and the shipped file that replaces it (None: left out, e.g. the optional dark theme).
CDN = {
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "vendor/css/bootstrap-table.min.css",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "vendor/css/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "vendor/css/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "vendor/css/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "vendor/css/bootstrap-datepicker.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": None,
    "https://cdn.jsdelivr.net/npm/vega@5": None,  # charts of profiling results only; the suites draw none
    "https://cdn.jsdelivr.net/npm/vega-lite@5": None,
    "https://cdn.jsdelivr.net/npm/vega-embed@6": None,
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "vendor/css/fontawesome.min.css",
        "vendor/css/solid.min.css",
        "vendor/css/regular.min.css",
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "vendor/js/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "vendor/js/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "vendor/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "vendor/js/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "vendor/js/bootstrap-table-filter-control.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "vendor/js/bootstrap-datepicker.min.js"
    ),
}
_TAG = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https://[^"]+)"[^>]*>(?:\s*</script>)?')
_OK = '<i class="fas fa-check-circle text-success"></i>'
_FOUT = '<i class="fas fa-times text-danger"></i>'
_STATIC = re.compile(
    r'(href|src)="(?:\./|(?:\.\./)+)static/'
)  # GX's favicon path is one level short on validations
_LOGO = re.compile(r'"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/([^"?]+)[^"]*"')


def site(docs_root: Path) -> Path:
    """The Data Docs site of a GX context folder."""
    return Path(docs_root) / "gx" / "uncommitted" / "data_docs" / "local_site"


def _local(match: re.Match, up: str) -> str:
    kind, url = match.groups()
    if url not in CDN:
        return match.group(0)  # unknown: left as it is, and tests/test_data_docs.py fails on it
    files = CDN[url]
    files = () if files is None else (files,) if isinstance(files, str) else files
    if kind == "script":
        return "".join(f'<script src="{up}static/{f}"></script>' for f in files)
    return "".join(f'<link rel="stylesheet" href="{up}static/{f}">' for f in files)


def offline(page: Path, site_root: Path) -> None:
    """Point one rendered page at the shipped assets instead of the CDNs (relative to the page, for file://)."""
    text = page.read_text(encoding="utf-8")
    up = "../" * (len(page.relative_to(site_root).parts) - 1)
    new = _TAG.sub(lambda m: _local(m, up), text)
    new = _LOGO.sub(lambda m: f'"{up}static/images/{m.group(1)}"', new)
    new = _STATIC.sub(lambda m: f'{m.group(1)}="{up}static/', new)
    if new != text:
        page.write_text(new, encoding="utf-8")


def build(context, run=None, titel: str | None = None) -> Path:
    """Render this run's validation pages (every page when ``run`` is None), the suite pages and GX's index, make
    them offline, and write the overview. Returns the overview's path."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    store = context.validation_results_store
    keys = store.list_keys()
    mine = [k for k in keys if run is None or k.run_id.to_tuple() == run.to_tuple()]
    suites = sorted({k.expectation_suite_identifier.name for k in mine})
    context.build_data_docs(
        resource_identifiers=[*mine, *(ExpectationSuiteIdentifier(name=s) for s in suites)]
    )
    root = site(Path(context.root_directory).parent)
    shutil.copytree(VENDOR, root / "static" / "vendor", dirs_exist_ok=True)
    pages = [root / "index.html", *(root / "expectations").glob("*.html")]
    pages += [root / "validations" / Path(*k.to_tuple()).with_suffix(".html") for k in mine]
    for page in pages:
        if page.exists():
            offline(page, root)
    return _overview(root, [(k, store.get(k)) for k in keys], titel)


def _batch(key, result) -> dict:
    """What the overview shows of one stored validation result."""
    regels = []
    for r in result.results:
        res = r.result or {}
        cfg = r.expectation_config
        kolom = cfg.kwargs.get("column") or ", ".join(
            cfg.kwargs.get("column_list")
            or [c for c in (cfg.kwargs.get("column_A"), cfg.kwargs.get("column_B")) if c]
        )
        regels.append(
            {
                "uitleg": cfg.meta.get("uitleg", cfg.type),
                "type": cfg.type,
                "kolom": kolom,
                "rijen": int(res.get("element_count") or 0),
                "ontbrekend": int(res.get("missing_count") or 0),
                "afwijkend": int(res.get("unexpected_count") or 0),
                "geslaagd": bool(r.success),
            }
        )
    return {
        "suite": key.expectation_suite_identifier.name,
        "geslaagd": bool(result.success),
        "rijen": max((r["rijen"] for r in regels), default=0),
        "pagina": Path("validations", *key.to_tuple()).with_suffix(".html").as_posix(),
        "regels": regels,
    }


def _pct(afwijkend: int, beoordeeld: int) -> str:
    """GX's unexpected percentage (of the rows with a value), in Dutch notation."""
    return f"{getal(100 * afwijkend / beoordeeld, 1)} %" if beoordeeld else "–"


def _suite_cell(batches: list[dict]) -> str:
    geslaagd = all(b["geslaagd"] for b in batches)
    rijen = sum(b["rijen"] for b in batches)
    regels = len(batches[0]["regels"])
    mislukt = {i for b in batches for i, r in enumerate(b["regels"]) if not r["geslaagd"]}
    afwijkend = sum(r["afwijkend"] for b in batches for r in b["regels"] if not r["geslaagd"])
    icon = f"{_OK} geslaagd" if geslaagd else f"{_FOUT} mislukt"
    links = " ".join(
        f'<a href="{html.escape(b["pagina"])}">{"details" if len(batches) == 1 else f"deel {i}"}</a>'
        for i, b in enumerate(batches, start=1)
    )
    detail = f"{getal(rijen)} rijen, {regels} {'verwachting' if regels == 1 else 'verwachtingen'}" + (
        "" if geslaagd else f"; {len(mislukt)} mislukt ({getal(afwijkend)} afwijkend)"
    )
    return (
        f'<td class="{"table-success" if geslaagd else "table-danger"}" data-suite="{html.escape(batches[0]["suite"])}" '
        f'data-geslaagd="{str(geslaagd).lower()}" data-rijen="{rijen}">{icon}<br><small>{detail}</small><br>'
        f"<small>{links}</small></td>"
    )


def _detail(suite: str, batches: list[dict]) -> str:
    """The latest run of one suite per expectation: rows, unexpected rows and GX's percentage, over every batch."""
    totals: dict[int, dict] = {}
    for b in batches:
        for i, r in enumerate(b["regels"]):
            t = totals.setdefault(i, {**r, "rijen": 0, "ontbrekend": 0, "afwijkend": 0, "geslaagd": True})
            t["rijen"] += r["rijen"]
            t["ontbrekend"] += r["ontbrekend"]
            t["afwijkend"] += r["afwijkend"]
            t["geslaagd"] &= r["geslaagd"]
    rows = "".join(
        f'<tr class="{"" if t["geslaagd"] else "table-danger"}" data-regel="{i}">'
        f"<td>{html.escape(t['uitleg'])}<br><small class='text-muted'>{html.escape(t['type'])}"
        f"{' · ' + html.escape(t['kolom']) if t['kolom'] else ''}</small></td>"
        f'<td class="text-right" data-kolom="rijen">{getal(t["rijen"])}</td>'
        f'<td class="text-right" data-kolom="afwijkend">{getal(t["afwijkend"])}</td>'
        f'<td class="text-right" data-kolom="pct">{_pct(t["afwijkend"], t["rijen"] - t["ontbrekend"])}</td>'
        f"<td>{_OK if t['geslaagd'] else _FOUT}</td></tr>"
        for i, t in totals.items()
    )
    return (
        f'<h3 class="h5 mt-4" id="suite-{html.escape(suite)}">{html.escape(suite)}</h3>'
        '<table class="table table-sm table-bordered"><thead class="thead-light"><tr><th>Verwachting</th>'
        '<th class="text-right">Rijen</th><th class="text-right">Afwijkend</th><th class="text-right">% afwijkend</th>'
        f"<th>Uitkomst</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _overview(root: Path, results: list, titel: str | None) -> Path:
    """``overzicht.html``: per run (newest first) every suite's verdict, then the latest run per expectation."""
    runs: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for key, result in results:
        b = _batch(key, result)
        runs[key.run_id.to_tuple()][b["suite"]].append(b)
    for suites in runs.values():
        for batches in suites.values():
            batches.sort(key=lambda b: b["pagina"])
    from expectations.suites import SUITES

    order = [s.name for s in SUITES] + sorted(
        {s for r in runs.values() for s in r} - {s.name for s in SUITES}
    )
    newest = sorted(runs, key=lambda r: r[1], reverse=True)
    head = "".join(f"<th>{html.escape(s)}</th>" for s in order)
    body = ""
    for run in newest:
        suites = runs[run]
        cells = "".join(_suite_cell(suites[s]) if s in suites else "<td>–</td>" for s in order)
        ok = all(b["geslaagd"] for bs in suites.values() for b in bs)
        badge = (
            '<span class="badge badge-success">poort geslaagd</span>'
            if ok
            else '<span class="badge badge-danger">geblokkeerd</span>'
        )
        when = f"{run[1][0:4]}-{run[1][4:6]}-{run[1][6:8]} {run[1][9:11]}:{run[1][11:13]}:{run[1][13:15]} UTC"
        body += (
            f'<tr data-run="{html.escape(run[0])}"><td>{when}<br><small class="text-muted">run '
            f"{html.escape(run[0] if run[0] != '__none__' else '–')}</small><br>"
            f"{badge}"
            f"</td>{cells}</tr>"
        )
    latest = runs[newest[0]] if newest else {}
    details = "".join(_detail(s, latest[s]) for s in order if s in latest)
    title = titel or "Kwaliteitscontroles"
    page = root / OVERVIEW
    page.write_text(
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} (Great Expectations)</title>"
        '<link rel="stylesheet" href="static/vendor/css/bootstrap.min.css">'
        '<link rel="stylesheet" href="static/vendor/css/fontawesome.min.css">'
        '<link rel="stylesheet" href="static/vendor/css/solid.min.css">'
        '<link rel="icon" href="static/images/favicon.ico"></head><body><main class="container-fluid p-4">'
        f'<h1 class="h3">{html.escape(title)}</h1>'
        '<p class="text-muted">Great Expectations valideert elke rij van de tabel van elke suite. Per run van de poort '
        "(nieuwste eerst) de uitkomst van elke suite, met het aantal rijen en de afwijkende rijen; "
        '<a href="index.html">alle validaties en suites (GX)</a>.</p>'
        '<h2 class="h4">Runs</h2><table class="table table-sm table-bordered" id="runs">'
        f'<thead class="thead-light"><tr><th>Run</th>{head}</tr></thead><tbody>{body}</tbody></table>'
        f'<h2 class="h4">Laatste run per verwachting</h2>{details or "<p>Nog geen validaties.</p>"}'
        "</main></body></html>",
        encoding="utf-8",
    )
    return page
