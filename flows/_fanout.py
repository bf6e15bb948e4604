"""Fan a sync out as one flow run per group on a deployment, so several workers share it.

The parent has already planned every group and checked the removal guard for all of them, so a
truncated export still stops the whole sync before any child writes. Each child is the same flow
with `only_groups=[its group]`: it re-reads the source (workers must see the same path), plans its
group against the live membership, applies and verifies it, and returns its report as the flow's
result. The parent waits for all of them and folds their outcomes into its own report.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect.client.schemas.objects import FlowRun
from prefect.deployments import arun_deployment
from prefect.runtime import flow_run

from pipeline.errors import PipelineError
from pipeline.sync.report import GroupReport, SyncReport

CHILD_OVERRIDES: dict[str, Any] = {
    "fan_out_deployment": None,
    "report": None,
    "rejects": None,
    "show_progress": False,
}
"""What a child does differently from its parent: no further fan-out, its own output files."""


class FanOutError(PipelineError):
    """A per-group run did not complete."""


async def _run_child(deployment: str, parameters: dict[str, Any], key: str) -> FlowRun:
    return await arun_deployment(
        deployment,
        parameters={**parameters, **CHILD_OVERRIDES, "only_groups": [key]},
        flow_run_name=f"sync-{key}",
        timeout=None,
        poll_interval=1,
    )


async def _child_report(child: FlowRun) -> SyncReport | None:
    """The child's report, when the result storage is shared with this process."""
    assert child.state is not None
    try:
        result = await child.state.aresult(raise_on_failure=False)
    except Exception:  # the result lives in storage this machine cannot read
        return None
    return result if isinstance(result, SyncReport) else None


async def run_per_group(
    deployment: str, keys: list[str], group_reports: dict[str, GroupReport]
) -> list[str]:
    """Run every group on `deployment`; fill in the group reports; return notes for the report."""
    parameters = dict(flow_run.get_parameters())
    children = await asyncio.gather(*(_run_child(deployment, parameters, key) for key in keys))
    failed = [
        f"{key} (flow run {child.id}: {child.state.name if child.state else 'no state'})"
        for key, child in zip(keys, children, strict=True)
        if child.state is None or not child.state.is_completed()
    ]
    if failed:
        raise FanOutError(f"per-group runs did not complete: {', '.join(failed)}")
    notes = []
    for key, child in zip(keys, children, strict=True):
        report = await _child_report(child)
        if report is None:
            notes.append(
                f"group {key}: flow run {child.id} completed; its report is that run's result"
            )
            continue
        (outcome,) = report.groups
        group_reports[key] = outcome
        notes.append(f"group {key}: flow run {child.id}, report {report.report_path}")
    return notes
