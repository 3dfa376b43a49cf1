"""The meeting pack: the report as a PDF beside the html, and what the page needs to print well (issue 21).

WeasyPrint turns the rendered html into the PDF (pure Python on the system's pango: `make run` needs no browser,
and it implements the CSS paged media the pack needs: page counters, running date and marking in the page
margins, contents with page numbers). The html itself gets real ``<thead>`` rows (repeated at the top of every
printed page), a contents list of its sections, and links that stay inside the report's folder (the Data Docs
sit beside it in ``gx/``), so a folder that is mailed or copied elsewhere still works and names no server path.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path, PurePosixPath

from markupsafe import Markup

from basics.files import atomic_path

FICTIEF = "fictief — geen echte cijfers"

# A table's header row as the templates write it: the first <tr> of <th> cells right after <table ...>.
_HEADER = re.compile(r"(<table\b[^>]*>)\s*(<tr\b[^>]*>(?:(?!</tr>).)*?<th\b.*?</tr>)(.*?)(</table>)", re.S)
_SECTION = re.compile(r'<section id="([^"]+)"[^>]*>\s*<h2[^>]*>(.*?)</h2>', re.S)
INHOUD = "<!--inhoud-->"


def css_tekst(value) -> Markup:
    """A value as a CSS string literal for ``content:`` in the page margins, safe inside ``<style>`` (where html
    escapes are not decoded): quotes, backslashes and ``<`` as CSS escapes."""
    text = str(value).replace("\\", "\\5c ").replace('"', "\\22 ").replace("<", "\\3c ").replace("\n", " ")
    return Markup(f'"{text}"')


def fictief(regio: dict) -> bool:
    """The region pack marks itself as made up (``regio.csv``, column ``fictief``; a missing column is false)."""
    value = regio.get("fictief")
    return value is True or str(value).lower() == "true"


def relatief(target: Path | None, folder: Path) -> str | None:
    """``target`` as a link relative to ``folder`` (the report's folder), with forward slashes."""
    if target is None:
        return None
    return PurePosixPath(
        Path(os.path.relpath(Path(target).resolve(), Path(folder).resolve())).as_posix()
    ).as_posix()


def met_thead(page: str) -> str:
    """Every table's header row in a ``<thead>`` and its rows in a ``<tbody>``: print repeats the header."""

    def wrap(m: re.Match) -> str:
        if "<thead" in m.group(3) or "<tbody" in m.group(3):
            return m.group(0)
        return f"{m.group(1)}<thead>{m.group(2)}</thead><tbody>{m.group(3)}</tbody>{m.group(4)}"

    return _HEADER.sub(wrap, page)


def met_inhoud(page: str) -> str:
    """The contents list (the placeholder of ``_inhoud.html.j2``) from the sections' headings, in their order."""
    if INHOUD not in page:
        return page
    items = "".join(
        f'<li><a href="#{sid}">{re.sub(r"<[^>]+>", "", kop).strip()}</a></li>'
        for sid, kop in _SECTION.findall(page)
    )
    return page.replace(INHOUD, f"<ul>{items}</ul>", 1)


def afwerken(page: str) -> str:
    """The rendered report made ready for screen and print: header rows as ``<thead>``, the contents filled in."""
    return met_inhoud(met_thead(page))


def schrijf_pdf(page: str, out: Path) -> Path:
    """The meeting pack: ``page`` (the finished html) as an A4 PDF at ``out``, written atomically.

    Links inside the report folder (the Data Docs) are left out of the PDF: a PDF link to a file is resolved to
    an absolute path on this server, which the pack must never show.
    """
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # its CSS notes on the screen rules are no news
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    zonder_links = re.sub(r'<a href="(?!#|[a-z][a-z0-9+.-]*:)[^"]*"([^>]*)>', r"<a\1>", page)
    with atomic_path(out) as tmp:
        HTML(string=zonder_links, base_url=None).write_pdf(tmp)
    return out
