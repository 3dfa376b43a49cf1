"""The Dagster definitions: what `dagster dev` shows, and checks that report bad input without crashing."""

from __future__ import annotations

import itertools
from pathlib import Path

import dagster as dg
import pytest

from basics import region
from basics.manifest import mart_names
from basics.region import DEFAULT_REGIO
from basics.settings import Settings
from fairshare.runner import run_pipeline
from orchestration import keys
from orchestration.definitions import build_definitions
from orchestration.resources import FairshareResource
from tests.helpers import TOEWIJZINGEN_HEADER, regions_lock, toewijzing_row, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
R = DEFAULT_REGIO  # the region of build_definitions() without a resource
REPORT_STEP = keys.asset_key(R, *keys.REPORT).to_python_identifier()  # Dagster's step key of the report


def test_asset_keys_and_checks_snapshot():
    """A rename shows up here in review. Every key starts with the region (orchestration.keys)."""
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys_ = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert all(k.startswith(f"{R}/") for k in keys_)
    assert {
        f"{R}/raw/swev_toewijzingen",
        f"{R}/raw/urgentie_registraties",
        f"{R}/raw/planregister_plannen",
    } <= keys_
    # every mart dbt declares (the manifest: _marts__models.yml) is an asset, and nothing else in marts/
    assert {k for k in keys_ if k.startswith(f"{R}/marts/")} == {f"{R}/marts/{m}" for m in mart_names()}
    assert {
        f"{R}/staging/stg_swev__toewijzingen",
        f"{R}/intermediate/int_koppeling",
        f"{R}/referentie/opgaven",
    } <= keys_
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {
        (f"{R}/raw/{t}", c)
        for t in ("swev_toewijzingen", "urgentie_registraties", "planregister_plannen")
        for c in ("geen_afgewezen_bestanden", "quarantaine")
    } <= checks
    assert {
        (f"{R}/rapport/bo_wonen_zorg", "poort"),
        (f"{R}/staging/stg_audit__leveringen", "actualiteit_leveringen"),
    } <= checks
    # dbt tests show as asset checks on their models
    assert any(a == f"{R}/marts/fair_share" and c.startswith("unique_grain") for a, c in checks)
    assert defs.resolve_job_def(f"fairshare_{R}") is not None
    for key in graph.get_all_asset_keys():
        if key.path[1] in ("raw", "marts"):
            assert graph.get(key).description, key


def test_two_regions_loaded_together_share_no_asset_check_job_sensor_or_schedule_name():
    """One instance (and one workspace) holds every region: no key, check or name may be another region's, and
    every asset says which region it is."""
    from orchestration import regions

    with regions_lock(exclusive=False):  # every pack present (a region added in regions/ too), none half-made
        packs = region.regions()
        loaded = {r: regions.definitions_for(r) for r in packs}
    assert {"amersfoort", "voorbeeld"} <= set(packs)
    graphs = {r: d.resolve_asset_graph() for r, d in loaded.items()}
    assets = {r: set(g.get_all_asset_keys()) for r, g in graphs.items()}
    checks = {r: set(g.asset_check_keys) for r, g in graphs.items()}
    assert len({len(a) for a in assets.values()}) == 1 and len(assets["amersfoort"]) > 30
    assert len({len(c) for c in checks.values()}) == 1 and len(checks["amersfoort"]) > 30
    for a, b in itertools.combinations(packs, 2):
        assert not assets[a] & assets[b] and not checks[a] & checks[b], (a, b)
    for r, graph in graphs.items():
        assert {k.path[0] for k in assets[r]} == {r} and {k.asset_key.path[0] for k in checks[r]} == {r}
        # the dbt sources' upstream keys are the ingest assets of the same region
        upstream = graph.get(keys.asset_key(r, "staging", "stg_swev__toewijzingen")).parent_keys
        assert keys.asset_key(r, "raw", "swev_toewijzingen") in upstream
        for key in assets[r]:
            node = graph.get(key)
            if node.is_materializable:
                assert node.metadata["regio"] == r and node.tags["regio"] == r, key
                assert f"(`{r}`)" in node.description, key
    names = {
        r: {
            *(j.name for j in d.resolve_all_job_defs() if not j.name.startswith("__")),
            *(s.name for s in d.sensors),
            *(s.name for s in d.schedules),
        }
        for r, d in loaded.items()
    }
    assert names["amersfoort"] == {
        keys.job_name("amersfoort"),
        keys.sensor_name("amersfoort"),
        keys.schedule_name("amersfoort"),
    }
    for a, b in itertools.combinations(packs, 2):
        assert not names[a] & names[b] and len(names[b]) == 3, (a, b)


def test_a_locations_region_does_not_follow_fairshare_regio(monkeypatch):
    """The default location stays the default region's even in a process with FAIRSHARE_REGIO set: its keys and
    the region its runs read are the same one."""
    monkeypatch.setenv("FAIRSHARE_REGIO", "voorbeeld")
    defs = build_definitions()
    assert {k.path[0] for k in defs.resolve_asset_graph().get_all_asset_keys()} == {R}
    assert defs.resources["fairshare"].settings().regio == R


def test_marts_are_downstream_of_the_ingest_assets():
    graph = build_definitions().resolve_asset_graph()
    upstream = graph.get(keys.asset_key(R, "staging", "stg_swev__toewijzingen")).parent_keys
    assert keys.asset_key(R, "raw", "swev_toewijzingen") in upstream


@pytest.fixture(scope="module")
def checked_run(tmp_path_factory):
    """One real run (``run_pipeline``, in this process, into a kept Dagster instance) over a landing folder with
    one SWEV delivery holding a bad row, a planregister file that is no workbook, and no registers.

    Both tests below read it: the checks Dagster records (what `dagster dev` shows) and the outcome and summary
    ``run_pipeline`` returns are separate results of the same run, and neither test's files or rows can make
    the other's (the bad row and the rejected file are in different sources; the missing registers block the
    report either way). ``settle_seconds=0``: the files are complete when written, waiting for them is for
    nothing. Returns (outcome, failed step keys, check evaluations by (asset, check), materialised step keys).
    """
    tmp_path = tmp_path_factory.mktemp("checked")
    landing = tmp_path / "landing"
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1), toewijzing_row(2, kamers=0)],
    )
    (landing / "planregister").mkdir()
    (landing / "planregister" / "planregister_2025-03.xlsx").write_bytes(b"not a workbook")
    settings = Settings.from_env(
        {},
        landing=landing,
        warehouse=tmp_path / "warehouse" / "w.duckdb",
        reports=tmp_path / "reports",
        demo=True,
        settle_seconds=0,
    )
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(settings, instance)
        [run] = instance.get_run_records()
        events = [
            r.event_log_entry.dagster_event
            for r in instance.get_records_for_run(run.dagster_run.run_id).records
        ]
    events = [e for e in events if e is not None]
    failed = {e.step_key for e in events if e.is_step_failure}
    checks = {
        (
            e.event_specific_data.asset_check_key.asset_key.to_user_string(),
            e.event_specific_data.asset_check_key.name,
        ): (e.event_specific_data)
        for e in events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    }
    materialised = [e.step_key for e in events if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
    return outcome, failed, checks, materialised


@pytest.mark.slow
def test_rejected_file_and_quarantined_rows_are_failed_warning_checks_not_a_crash(checked_run):
    _, failed_steps, checks, materialised = checked_run
    # Every step ran but the report's: this landing lacks the committees' registers, so its gate blocks it.
    assert failed_steps == {REPORT_STEP}
    gate = checks[(f"{R}/rapport/bo_wonen_zorg", "poort")]
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    assert "**poort**" in gate.metadata["uitkomst"].value and "geblokkeerd" in gate.metadata
    assert REPORT_STEP not in materialised
    rejected = checks[(f"{R}/raw/planregister_plannen", "geen_afgewezen_bestanden")]
    assert not rejected.passed and rejected.severity == dg.AssetCheckSeverity.WARN
    assert (
        "planregister/planregister_2025-03.xlsx: not a readable xlsx file"
        in rejected.metadata["redenen"].value
    )
    quarantined = checks[(f"{R}/raw/swev_toewijzingen", "quarantaine")]
    assert not quarantined.passed and quarantined.metadata["rijen_quarantaine"].value == 1
    assert "row 3" in quarantined.metadata["voorbeelden"].value
    assert checks[(f"{R}/raw/swev_toewijzingen", "geen_afgewezen_bestanden")].passed


def test_missing_key_fails_the_step_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.delenv("FAIRSHARE_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("FAIRSHARE_DEMO", raising=False)
    resource = FairshareResource(landing=str(tmp_path), warehouse=str(tmp_path / "warehouse" / "w.duckdb"))
    result = (
        build_definitions(resource)
        .resolve_job_def(keys.job_name(R))
        .execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    )
    assert not result.success
    messages = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    assert any("no pseudonym key" in m for m in messages)


@pytest.mark.slow
def test_run_pipeline_reports_success_and_summary(checked_run):
    outcome, *_ = checked_run
    # one new delivery, one rejected file (the planregister's): the gate blocks, the run succeeds
    assert outcome.success and "files this run: 1 new, 0 unchanged, 1 rejected" in outcome.summary
    assert outcome.blocked and "BLOCKED, see" in outcome.summary  # no registers, no planregister: no report


def _without_venv_env(tmp_path) -> dict[str, str]:
    """The environment of a fresh shell: the venv is neither activated nor on PATH; `dagster dev` mode on."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and ".venv" not in p and not (Path(p) / "dbt").exists()
    )
    env["DAGSTER_IS_DEV_CLI"] = "1"  # as `dagster dev` sets it: the dbt manifest is prepared on load
    env["DAGSTER_HOME"] = str(tmp_path)
    return env


@pytest.mark.slow  # two real processes that each run `dbt parse`
def test_definitions_load_without_the_venv_on_path(tmp_path):
    """`make dev` on a fresh clone: the code location loads (and runs `dbt parse`) with the venv not on PATH."""
    import shutil
    import subprocess
    import sys

    env = _without_venv_env(tmp_path)
    assert shutil.which("dbt", path=env["PATH"]) is None
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "from orchestration.definitions import defs; "
            "print(len(list(defs.resolve_asset_graph().get_all_asset_keys())))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip().splitlines()[-1]) > 30
    result = subprocess.run(
        [str(bin_dir / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "dbt not found" not in result.stdout + result.stderr


def test_every_mart_declares_its_grain_once_and_dbt_tests_it():
    """The grain is written once (meta.grain in _marts__models.yml): it names columns of the mart, and the
    generic test unique_grain, which reads it, is attached to every mart."""
    import json

    from basics import paths
    from basics.manifest import marts

    nodes = json.loads(paths.MANIFEST.read_text(encoding="utf-8"))["nodes"]
    tested = {
        n["attached_node"].rsplit(".", 1)[-1]
        for n in nodes.values()
        if n["resource_type"] == "test" and n.get("test_metadata", {}).get("name") == "unique_grain"
    }
    declared = marts()
    assert [m.name for m in declared] == mart_names() and len(declared) == 15
    for mart in declared:
        columns = nodes[f"model.fairshare.{mart.name}"]["columns"]
        assert mart.grain and set(mart.grain) <= set(columns), mart
        assert mart.name in tested, mart


def test_launchpad_config_keeps_the_locations_region(tmp_path, monkeypatch):
    """Config given at launch (e.g. ``opnieuw: true`` in the launchpad) replaces the location's bound resource
    values as a whole: the run still serves its job's region, and a config naming another region fails."""
    from orchestration import regions

    monkeypatch.delenv("FAIRSHARE_REGIO", raising=False)
    job = regions.definitions_for("voorbeeld").resolve_job_def(keys.job_name("voorbeeld"))
    given = dg.validate_run_config(job, {"resources": {"fairshare": {"config": {"opnieuw": True}}}})
    resource = FairshareResource(**given["resources"]["fairshare"]["config"])
    assert resource.regio is None  # what Dagster hands the run: the bound regio is gone
    run = dg.DagsterRun(job_name=job.name, run_id="r")
    assert resource._for_run(run).settings().regio == "voorbeeld" and resource._for_run(run).opnieuw
    from_asset_page = dg.DagsterRun(
        job_name="__ASSET_JOB",
        run_id="a",
        asset_selection=frozenset({keys.asset_key("voorbeeld", *keys.REPORT)}),
    )
    assert keys.regio_of_run(from_asset_page) == "voorbeeld"
    result = job.execute_in_process(
        run_config={
            "resources": {
                "fairshare": {"config": {"regio": "amersfoort", "warehouse": str(tmp_path / "w.duckdb")}}
            }
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE]
    error, said = failure.event_specific_data.error, []
    while error is not None:  # the resource's Failure, under Dagster's "error executing resource_fn"
        said.append(error.message)
        error = error.cause
    assert any("this run is of region 'voorbeeld'" in m and "regio 'amersfoort'" in m for m in said), said
    assert not (tmp_path / "w.duckdb").exists()
