"""The half-yearly report to the BO Wonen en Zorg (html and xlsx) and the page shown when the gate blocks it."""

from products.report.render import (
    environment,
    render_blocked,
    render_report,
    report_data,
    report_stem,
    write_workbook,
)

__all__ = [
    "environment",
    "render_blocked",
    "render_report",
    "report_data",
    "report_stem",
    "write_workbook",
]
