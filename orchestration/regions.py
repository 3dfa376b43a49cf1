"""One Dagster code location per region: `workspace.yaml` names `orchestration.regions` with the region's code
as attribute (`attribute: voorbeeld`), and this module builds that region's definitions on demand.

Why code locations and not partitions: a region's pseudonym key, warehouse and landing folder are its own
(spec/regions.md: a region's data engineers see only their region). A code location is a process (a pod
or container in a deployment) that can be given only its region's secret and volume; a partitioned job would
hold every region's key in one process. The asset graph is the same for every region; each location shows it
under its region's names (``orchestration.keys``: asset keys, checks, job, sensor and schedule carry the
region), bound to its region's resource, so one instance keeps the regions' histories apart.
"""

from __future__ import annotations

import dagster as dg

from basics import region
from orchestration.definitions import build_definitions
from orchestration.resources import FairshareResource


def definitions_for(regio: str) -> dg.Definitions:
    """The definitions of one region: every path from its settings (FAIRSHARE_* of its location's process)."""
    region.regio_dir(regio)  # an unknown region fails the location's load with a clear message
    return build_definitions(FairshareResource(regio=regio))


def __getattr__(name: str) -> dg.Definitions:
    """`orchestration.regions.<regio>`: the attribute a workspace entry loads (PEP 562)."""
    if name in region.regions():
        return definitions_for(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} (no region pack regions/{name}/)")
