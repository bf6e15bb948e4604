"""Prefect artifacts the flows publish: stable keys, and a progress artifact fed while applying.

Keys are derived from the deployment's name, so the UI shows each deployment's history of one
artifact (`nightly-crm-sync-sync-report` run after run); runs outside a deployment (the CLI) share
the `sinch-groups-` prefix. Artifacts carry counts, group names, paths and rejected input values,
never a credential: flows never hold one outside `Target`, whose secrets do not render.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any
from uuid import UUID

import polars as pl
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext

REJECT_EXAMPLES_PER_REASON = 5
"""How many rejected rows per reason the rejects table shows; the rejects file has them all."""


async def artifact_key(suffix: str) -> str:
    """`<deployment>-<suffix>`, or `sinch-groups-<suffix>` outside a deployment.

    Prefect keys allow lowercase letters, digits and dashes only, so the deployment name is
    folded into that alphabet.
    """
    prefix = await _deployment_name() or "sinch-groups"
    return re.sub(r"[^a-z0-9]+", "-", f"{prefix}-{suffix}".lower()).strip("-")


_deployment_names: dict[UUID, str] = {}


async def _deployment_name() -> str | None:
    """The running deployment's name, read from the API once per process.

    `prefect.runtime.deployment.name` would read the flow run and the deployment again on every
    call, blocking the event loop while it waits, even for a run that has no deployment.
    """
    context = FlowRunContext.get()
    deployment_id = context.flow_run.deployment_id if context and context.flow_run else None
    if deployment_id is None:
        return None
    if deployment_id not in _deployment_names:
        async with get_client() as client:
            _deployment_names[deployment_id] = (await client.read_deployment(deployment_id)).name
    return _deployment_names[deployment_id]


async def publish_markdown(suffix: str, markdown: str, description: str) -> UUID:
    return await acreate_markdown_artifact(
        key=await artifact_key(suffix), markdown=markdown, description=description
    )


async def publish_table(suffix: str, rows: list[dict[str, Any]], description: str) -> UUID:
    return await acreate_table_artifact(
        key=await artifact_key(suffix), table=rows, description=description
    )


def reject_examples(
    rejects: pl.DataFrame, per_reason: int = REJECT_EXAMPLES_PER_REASON
) -> list[dict[str, Any]]:
    """The first rejected rows of each reason, in input order, as table rows."""
    if rejects.is_empty():
        return []
    return (
        rejects.sort(["reason", "source_file", "source_line"])
        .group_by("reason", maintain_order=True)
        .head(per_reason)
        .select("reason", "source_file", "source_line", "raw_value", "detail")
        .to_dicts()
    )


class ApplyProgress:
    """A Prefect progress artifact for the apply stage, next to the console bar.

    `advance` is called from inside the apply loop for every batch; it updates the artifact at most
    once per percent and never waits for the API, so a slow Prefect server cannot slow the sync.
    """

    def __init__(self, artifact_id: UUID, total: int, console: Callable[[int], None]) -> None:
        self._id = artifact_id
        self._total = max(total, 1)
        self._done = 0
        self._published = 0.0 if total else 100.0
        self._console = console
        self._pending: set[asyncio.Task[Any]] = set()

    @classmethod
    async def start(cls, suffix: str, total: int, console: Callable[[int], None]) -> ApplyProgress:
        artifact_id = await acreate_progress_artifact(
            progress=0.0 if total else 100.0,  # nothing to apply: done from the start
            key=await artifact_key(suffix),
            description=f"applying {total:,} changes",
        )
        return cls(artifact_id, total, console)

    def advance(self, done: int) -> None:
        self._console(done)
        self._done += done
        # A task retried re-sends its batches: the count may pass the total, the stage may not.
        percent = min(round(100 * self._done / self._total, 1), 100.0)
        if percent - self._published >= 1.0 and not self._pending:
            self._published = percent
            update = asyncio.get_running_loop().create_task(
                aupdate_progress_artifact(self._id, progress=percent)
            )
            self._pending.add(update)
            update.add_done_callback(self._pending.discard)

    async def finish(self) -> None:
        """Wait for the update in flight, then record 100%: the stage is over."""
        await asyncio.gather(*self._pending, return_exceptions=True)
        if self._published < 100.0:
            await aupdate_progress_artifact(self._id, progress=100.0)
