"""Operating with Prefect: artifacts, credentials, typed parameters, task runners and fan-out.

Every flow here runs against the session's temporary Prefect API and the live emulator over HTTP;
what the UI would show (artifacts, logs, parameters) is read back through the Prefect client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import polars as pl
import pytest
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.client.schemas.objects import TaskRun
from prefect.logging.handlers import APILogHandler
from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH
from prefect.utilities.callables import parameter_schema

from flows._steps import TaskRunnerError
from flows.export_groups import export_groups
from flows.sync_groups import sync_groups
from pipeline.errors import PipelineError
from pipeline.sinch import AuthenticationError, ConfigurationError, GroupsClient
from pipeline.sync.report import SyncReport
from sinch_emulator import DEFAULT_PLAN_ID, EmulatorConfig, EmulatorServer, Plan
from tests.live import members_by_name, seed_group, set_faults
from tests.test_sync_flow import national, number, write_csv

CANARY = "CANARY-tok-5f1e9c2a"
"""A token nothing else in a run could contain, so finding it anywhere is a leak."""


def sample(tmp_path: Path) -> Path:
    """Two groups, a duplicate, and three kinds of reject."""
    rows = [{"phone": number(i), "segment": "vip" if i % 3 == 0 else "news"} for i in range(60)]
    rows += [
        {"phone": national(1), "segment": "news"},
        {"phone": '=HYPERLINK("http://x")', "segment": "news"},
        {"phone": "", "segment": "vip"},
        {"phone": number(99), "segment": ""},
    ]
    return write_csv(tmp_path / "crm.csv", rows)


async def flow_run_id(state) -> UUID:
    return state.state_details.flow_run_id


async def artifacts_of(run_id: UUID) -> dict[str, object]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    # Keyless artifacts are Prefect's own result records; the flow's artifacts all have keys.
    return {artifact.key: artifact for artifact in found if artifact.key}


async def test_sync_publishes_report_tables_rejects_and_progress_under_stable_keys(
    sinch_env, tmp_path, prefect_harness
):
    source = str(sample(tmp_path))
    state = await sync_groups(
        source=source,
        group_column="segment",
        default_region="GB",
        rejects=str(tmp_path / "rejects.csv"),
        return_state=True,
    )
    report = await state.result()
    artifacts = await artifacts_of(await flow_run_id(state))
    assert set(artifacts) == {
        "sinch-groups-sync-report",
        "sinch-groups-sync-groups",
        "sinch-groups-sync-rejects",
        "sinch-groups-sync-progress",
    }

    assert artifacts["sinch-groups-sync-report"].type == "markdown"
    assert "| vip |" in artifacts["sinch-groups-sync-report"].data
    groups = json.loads(artifacts["sinch-groups-sync-groups"].data)
    assert {(g["group"], g["added"], g["final_size"], g["verified"]) for g in groups} == {
        ("vip", 20, 20, True),
        ("news", 40, 40, True),
    }
    rejects_table = artifacts["sinch-groups-sync-rejects"]
    assert str(tmp_path / "rejects.csv") in rejects_table.description
    examples = json.loads(rejects_table.data)
    assert sorted(row["reason"] for row in examples) == sorted(report.rejected_by_reason)
    assert {row["raw_value"] for row in examples} >= {number(99)}
    assert artifacts["sinch-groups-sync-progress"].type == "progress"
    assert artifacts["sinch-groups-sync-progress"].data == 100.0

    # A second run writes new versions of the same keys: the UI shows them as one history.
    state = await sync_groups(
        source=source, group_column="segment", default_region="GB", return_state=True
    )
    again = await artifacts_of(await flow_run_id(state))
    assert "sinch-groups-sync-report" in again
    assert json.loads(again["sinch-groups-sync-groups"].data)[0]["added"] == 0
    assert again["sinch-groups-sync-progress"].data == 100.0, "nothing to apply is done"


async def task_runs_of(state) -> list[TaskRun]:
    """The flow run's task runs, once the server has recorded them all.

    Task runs reach the server as events, a moment after the flow returns: wait until every one
    is in a final state and the set has not changed for a second.
    """
    run_filter = TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[await flow_run_id(state)]))
    seen: list[tuple[str, str | None]] = []
    unchanged = 0
    async with get_client() as client:
        for _ in range(120):
            runs = await client.read_task_runs(task_run_filter=run_filter)
            now = sorted((run.name, run.state_type) for run in runs)
            settled = now == seen and all(run.state and run.state.is_final() for run in runs)
            unchanged = unchanged + 1 if settled else 0
            if unchanged == 4:
                return runs
            seen = now
            await asyncio.sleep(0.25)
    raise AssertionError(f"the task runs never settled: {seen}")


async def test_one_named_group_is_read_while_the_file_loads(sinch_env, tmp_path, prefect_harness):
    await seed_group(sinch_env, "vip", [number(i) for i in range(30)])  # 10 of them not in the file
    source = write_csv(tmp_path / "vip.csv", [{"phone": number(i)} for i in range(10, 50)])

    state = await sync_groups(
        source=str(source),
        group="vip",
        mode="mirror",
        max_remove_fraction=0.5,
        default_region="GB",
        return_state=True,
    )
    report = await state.result()
    runs = {run.name: run for run in await task_runs_of(state)}

    assert {"resolve-groups", "read-vip", "plan-vip", "apply-vip", "verify-vip"} <= set(runs)
    read = next(run for name, run in runs.items() if name.startswith("read"))
    # The group is resolved, then locked (one writer per group), then read.
    assert runs["resolve-groups"].end_time <= read.start_time
    load = next(run for name, run in runs.items() if name.startswith("load"))
    assert read.start_time < load.end_time, "the membership is read while the file loads"
    (group,) = report.groups
    assert (group.current, group.added, group.removed, group.final_size) == (30, 20, 10, 40)
    assert (await members_by_name(sinch_env))["vip"] == {number(i) for i in range(10, 50)}


async def test_a_failing_file_stops_the_read_ahead_and_reports_the_file(
    sinch_env, tmp_path, prefect_harness
):
    await seed_group(sinch_env, "vip", [number(i) for i in range(30)])
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"phone\n" + b'"unclosed quote' + b"\x00\xff" * 1000)
    set_faults(sinch_env, latency_ms=3_000)  # the read is still in flight when the file fails
    state = await sync_groups(
        source=str(broken), group="vip", default_region="GB", return_state=True
    )

    assert state.is_failed()
    with pytest.raises(PipelineError, match=r"broken\.csv"):
        await state.result()
    (read,) = [run for run in await task_runs_of(state) if run.name == "read-vip"]
    assert read.state.type.value in {"CANCELLED", "CRASHED"}, "the read was stopped, not left"


def stored_results() -> set[Path]:
    storage = Path(PREFECT_RESULTS_LOCAL_STORAGE_PATH.value())
    return set(storage.iterdir()) if storage.exists() else set()


async def test_sync_tasks_are_coarse_named_and_persist_only_the_report(
    sinch_env, tmp_path, prefect_harness
):
    before = stored_results()
    state = await sync_groups(
        source=str(sample(tmp_path)),
        group_column="segment",
        default_region="GB",
        partition_rows=1_000,
        return_state=True,
    )
    runs = await task_runs_of(state)
    names = sorted(run.name for run in runs)
    for expected in ("plan-vip", "plan-news", "apply-vip", "apply-news", "verify-vip"):
        assert expected in names
    assert any(name.startswith("load") for name in names)
    assert "normalize-0" in names
    # Tasks per stage and group, never per contact: 64 rows are a dozen task runs at most.
    assert len(runs) <= 12
    # The one persisted result is the flow's report: no task result (rows, member lists).
    # (Other processes may store results meanwhile: only those naming this test's file count.)
    payloads = [base64.b64decode(path.read_bytes()) for path in stored_results() - before]
    [payload] = [data for data in payloads if str(tmp_path).encode() in data]
    assert b"pipeline.sync.report" in payload
    assert b"polars" not in payload


async def test_an_unchanged_file_is_not_loaded_or_normalized_again(
    sinch_env, tmp_path, prefect_harness
):
    source = str(sample(tmp_path))
    first = await sync_groups(source=source, group_column="segment", default_region="GB")
    state = await sync_groups(
        source=source, group_column="segment", default_region="GB", return_state=True
    )
    again = await state.result()
    runs = await task_runs_of(state)
    names = {run.name for run in runs}
    assert not any(name.startswith(("load", "normalize")) for name in names)
    # Nothing to send: no apply, create or re-read; no suppression list: nothing to load.
    assert not any(name.startswith(("apply", "create", "verify", "suppress")) for name in names)
    # what the run leaves behind: each group's base (nothing left or joined on Sinch's side)
    assert {name.split("-")[0] for name in names} == {"resolve", "plan", "publish"}
    assert again.duplicates == first.duplicates == 1
    assert again.rejected_by_reason["no_group"] == 1
    assert (again.rows_read, again.rows_valid, again.rejected_by_reason) == (
        first.rows_read,
        first.rows_valid,
        first.rejected_by_reason,
    )
    # Nothing was written: every group is reported unchanged (not verified), with its read time.
    assert [(g.key, g.added, g.final_size, g.verified) for g in again.groups] == [
        (g.key, 0, g.final_size, None) for g in first.groups
    ]
    assert all(g.read_at and g.read_at > again.started_at for g in again.groups)

    with Path(source).open("a", encoding="utf-8") as more:
        more.write(f"{number(500)},vip\n")
    changed = await sync_groups(source=source, group_column="segment", default_region="GB")
    assert changed.rows_read == first.rows_read + 1
    assert sum(g.added for g in changed.groups) == 1


async def test_export_publishes_its_snapshot_summary(sinch_env, tmp_path, prefect_harness):
    await sync_groups(source=str(sample(tmp_path)), group_column="segment", default_region="GB")
    state = await export_groups(out_dir=str(tmp_path / "snapshots"), return_state=True)
    result = await state.result()
    artifacts = await artifacts_of(await flow_run_id(state))
    summary = artifacts["sinch-groups-export-snapshot"].data
    assert str(result.path) in summary
    assert "60" in summary  # members exported: 20 vip + 40 news


def test_flow_parameters_render_a_typed_form_with_a_description_each():
    for flow in (sync_groups, export_groups):
        schema = parameter_schema(flow.fn).model_dump_for_openapi()
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{flow.name}.{name} has no description"
            assert "type" in prop or "anyOf" in prop or "$ref" in prop or "allOf" in prop, name
    sync = parameter_schema(sync_groups.fn).model_dump_for_openapi()
    assert sync["definitions"]["Mode"]["enum"] == ["add", "mirror", "remove"]
    fraction = sync["properties"]["max_remove_fraction"]
    assert (fraction["minimum"], fraction["maximum"]) == (0.0, 1.0)
    assert sync["properties"]["task_runner"]["enum"] == ["threads", "dask"]
    assert not any("token" in name or "secret" in name for name in sync["properties"])


async def test_a_parameter_outside_its_range_is_refused_before_the_run(
    sinch_env, tmp_path, prefect_harness
):
    from prefect.exceptions import ParameterTypeError

    with pytest.raises(ParameterTypeError, match="max_remove_fraction"):
        await sync_groups(source=str(sample(tmp_path)), group="x", max_remove_fraction=2.0)


# --- credentials: Secret block over environment -------------------------------------------------


@pytest.fixture
def canary_emulator(monkeypatch, tmp_path):
    """An emulator whose only plan's token is the canary; the environment has a wrong token."""
    config = EmulatorConfig(plans=[Plan(id=DEFAULT_PLAN_ID, token=CANARY)])
    with EmulatorServer(config, host="127.0.0.1", port=0) as server:
        monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", DEFAULT_PLAN_ID)
        monkeypatch.setenv("SINCH_API_TOKEN", "wrong-token-from-env")
        monkeypatch.setenv("SINCH_BASE_URL", server.base_url)
        monkeypatch.chdir(tmp_path)
        yield server


async def canary_members(server: EmulatorServer, name: str) -> int:
    async with GroupsClient(
        service_plan_id=DEFAULT_PLAN_ID, token=CANARY, base_url=server.base_url
    ) as client:
        [group] = [g async for g in client.iter_groups() if g.name == name]
        return len(await client.list_members(group.id))


async def save_block(name: str, value: object) -> None:
    await Secret(value=value).save(name, overwrite=True)


async def test_the_secret_block_wins_over_the_environment(
    canary_emulator, tmp_path, prefect_harness
):
    source = str(sample(tmp_path))
    with pytest.raises(AuthenticationError):
        await sync_groups(source=source, group="vip", credentials_block="no-such-block")

    await save_block("test-canary-token", CANARY)
    report = await sync_groups(source=source, group="vip", credentials_block="test-canary-token")
    assert report.groups[0].added == 61

    await save_block(
        "test-canary-object", {"service_plan_id": DEFAULT_PLAN_ID, "api_token": CANARY}
    )
    report = await sync_groups(source=source, group="vip", credentials_block="test-canary-object")
    assert report.groups[0].added == 0
    assert report.target["service_plan_id"] == DEFAULT_PLAN_ID


async def test_a_malformed_secret_block_is_named_in_a_clear_error(
    canary_emulator, tmp_path, prefect_harness
):
    await save_block("test-malformed", {"token": CANARY})
    with pytest.raises(ConfigurationError, match=r"test-malformed.*api_token") as raised:
        await sync_groups(
            source=str(sample(tmp_path)), group="vip", credentials_block="test-malformed"
        )
    assert CANARY not in str(raised.value)


async def test_no_token_reaches_artifacts_logs_parameters_or_results(
    canary_emulator, tmp_path, prefect_harness, caplog
):
    await save_block("test-canary-leak", CANARY)
    caplog.set_level("DEBUG")
    results_before = stored_results()
    runs = [
        await sync_groups(
            source=str(sample(tmp_path)),
            group_column="segment",
            default_region="GB",
            credentials_block="test-canary-leak",
            rejects=str(tmp_path / "out" / "rejects.csv"),
            report=str(tmp_path / "out" / "report.json"),
            return_state=True,
        ),
        await export_groups(
            out_dir=str(tmp_path / "out" / "snapshots"),
            credentials_block="test-canary-leak",
            return_state=True,
        ),
    ]
    seen: list[str] = [caplog.text]
    await APILogHandler.aflush()
    async with get_client() as client:
        for state in runs:
            run_id = await flow_run_id(state)
            run = await client.read_flow_run(run_id)
            seen.append(json.dumps(run.parameters, default=str))
            seen.append(repr(await state.result()))
            seen += [
                repr(a.data) + repr(a.description) for a in (await artifacts_of(run_id)).values()
            ]
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )
            assert logs, "the run's logs were not captured"
            seen += [log.message for log in logs]
    seen += [
        path.read_bytes().decode("utf-8", "replace")
        for path in (tmp_path / "out").rglob("*")
        if path.is_file()
    ]
    seen += [
        base64.b64decode(path.read_bytes()).decode("latin-1")
        for path in stored_results() - results_before
    ]
    assert len(seen) > 10
    assert not [text for text in seen if CANARY in text]


# --- task runners -----------------------------------------------------------------------------


def bigger_sample(tmp_path: Path) -> Path:
    rows = [
        {"phone": number(i) if i % 7 else national(i), "segment": f"s{i % 4}"} for i in range(5_000)
    ]
    rows += [{"phone": f"+44 ({i})", "segment": "s0"} for i in range(50)]
    return write_csv(tmp_path / "big.csv", rows)


async def test_the_dask_runner_gives_exactly_the_default_runners_result(
    sinch_env, tmp_path, prefect_harness
):
    from distributed import LocalCluster

    source = str(bigger_sample(tmp_path))
    common = {
        "source": source,
        "group_column": "segment",
        "default_region": "GB",
        "mode": "mirror",
        "dry_run": True,
        "partition_rows": 1_000,
    }
    threads = await sync_groups(**common, rejects=str(tmp_path / "threads.parquet"))
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = await sync_groups(
            **common,
            rejects=str(tmp_path / "dask.parquet"),
            task_runner="dask",
            dask_address=cluster.scheduler_address,
        )
    assert pl.read_parquet(tmp_path / "dask.parquet").equals(
        pl.read_parquet(tmp_path / "threads.parquet")
    )
    drop = {"duration_s", "started_at", "rejects_path", "report_path", "requests"}

    def comparable(report: SyncReport) -> dict[str, object]:
        kept = {k: v for k, v in report.to_dict().items() if k not in drop}
        kept["groups"] = [{**g, "read_at": None} for g in kept["groups"]]  # when each was read
        return kept

    assert comparable(dask) == comparable(threads)
    assert threads.rows_read == 5_050
    assert threads.rows_rejected == 50


async def test_the_dask_runner_without_a_scheduler_says_how_to_name_one(
    sinch_env, tmp_path, prefect_harness, monkeypatch
):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with pytest.raises(TaskRunnerError, match="DASK_SCHEDULER_ADDRESS"):
        await sync_groups(source=str(sample(tmp_path)), group="x", task_runner="dask")


# --- fan-out across flow runs of a deployment ------------------------------------------------


@pytest.fixture
def served_deployment(sinch_env, prefect_harness, tmp_path):
    """`sync_groups.serve(...)` in its own process: the stand-in for a pool of workers."""
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PREFECT_API_URL": prefect_harness, "PYTHONPATH": str(repo)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from flows.sync_groups import sync_groups; sync_groups.serve(name='per-group-test', limit=4)",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),
    )
    yield "sync-groups/per-group-test"
    server.terminate()
    server.wait(timeout=30)


async def wait_for_deployment(name: str) -> None:
    import asyncio

    async with get_client() as client:
        for _ in range(120):
            try:
                await client.read_deployment_by_name(name)
                return
            except Exception:
                await asyncio.sleep(0.5)
    raise AssertionError(f"deployment {name} never appeared")


async def test_fan_out_runs_each_group_as_its_own_flow_run_of_the_deployment(
    served_deployment, sinch_env, tmp_path, prefect_harness
):
    await wait_for_deployment(served_deployment)
    state = await sync_groups(
        source=str(sample(tmp_path)),
        group_column="segment",
        default_region="GB",
        fan_out_deployment=served_deployment,
        return_state=True,
    )
    report = await state.result()
    assert {g.key: (g.added, g.final_size, g.verified) for g in report.groups} == {
        "vip": (20, 20, True),
        "news": (40, 40, True),
    }
    live = await members_by_name(sinch_env)
    assert len(live["vip"]) == 20
    assert len(live["news"]) == 40
    async with get_client() as client:
        children = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[await flow_run_id(state)])
            )
        )
    assert sorted(child.parameters["only_groups"][0] for child in children) == ["news", "vip"]
    assert all(child.state and child.state.is_completed() for child in children)
    # A deployment's runs key their artifacts by its name: its history is one artifact per key.
    for child in children:
        assert "per-group-test-sync-report" in await artifacts_of(child.id)


def test_the_cli_reads_the_named_secret_block_instead_of_starting_the_emulator(
    canary_emulator, tmp_path, prefect_harness, monkeypatch, wide_console
):
    from typer.testing import CliRunner

    from flows.cli import app

    for name in ("SINCH_SERVICE_PLAN_ID", "SINCH_API_TOKEN", "SINCH_BASE_URL"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("SINCH_GROUPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)  # a Secret block lives in Prefect
    asyncio.run(
        save_block(
            "test-cli-block",
            {
                "service_plan_id": DEFAULT_PLAN_ID,
                "api_token": CANARY,
                "base_url": canary_emulator.base_url,
            },
        )
    )
    source = str(sample(tmp_path))
    result = CliRunner().invoke(
        app,
        [
            "sync",
            source,
            "--group",
            "vip",
            "--credentials-block",
            "test-cli-block",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "embedded" not in result.output
    assert CANARY not in result.output
    assert asyncio.run(canary_members(canary_emulator, "vip")) == 61

    missing = CliRunner().invoke(
        app,
        ["sync", source, "--group", "vip", "--credentials-block", "no-such-block", "--no-progress"],
    )
    assert missing.exit_code == 1
    assert "no credentials in the Secret block 'no-such-block'" in missing.output
