"""The Prefect runner of the sync engine: each stage a task, named as the engine names it.

`pipeline.sync.engine.run_sync` asks its `Steps` to run `load`, `normalize` (per partition),
`read`, `resolve-groups`, `plan`, `create-groups`, `apply`, `verify` and `suppressions`. Here each
becomes a task run named after the stage and what it is for (`plan-Newsletter`, `normalize-0`);
the stages that talk to Sinch retry on failures that can heal (`_tasks.io_task_options`). The
normalize partitions go to the run's task runner: threads here, or an existing Dask cluster.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import aclosing, asynccontextmanager
from typing import Any, TypeVar

import polars as pl
from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.asyncio import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.runtime import flow_run, task_run
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows._artifacts import ApplyProgress, publish_markdown, publish_table, reject_examples
from flows._tasks import io_task_options
from pipeline.errors import PipelineError
from pipeline.progress import Stages
from pipeline.sync.lock import GroupLockedError
from pipeline.sync.options import RunnerKind
from pipeline.sync.report import SyncReport
from pipeline.sync.steps import (
    IO_STAGES,
    MAX_PARALLEL,
    Advance,
    LocalSteps,
    bounded_map,
    call_stage,
    stage_run_name,
)

T = TypeVar("T")
DASK_ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"
DASK_IN_FLIGHT = 16
"""Partitions handed to a Dask cluster at once: enough to keep a cluster's workers busy, while
the flow holds only those partitions of the file (and their results), never all of them."""


LEASE_ENV = "SINCH_GROUPS_LOCK_LEASE"
DEFAULT_LEASE_S = 60.0
"""Seconds a group's concurrency slot outlives a flow run that stopped renewing it (killed), unless
`$SINCH_GROUPS_LOCK_LEASE` says otherwise; the server takes it back on its next repossessor pass."""


MIN_LEASE_S = 60.0
"""The shortest lease a Prefect server grants."""


def lease_s() -> float:
    return max(float(os.environ.get(LEASE_ENV) or DEFAULT_LEASE_S), MIN_LEASE_S)


def limit_name(plan: str, key: str) -> str:
    """`sinch-groups:<plan>:<id or name>`, in the characters a limit name may hold."""
    return re.sub(r"[^A-Za-z0-9_:.-]+", "_", f"sinch-groups:{plan}:{key}")[:120]


async def _ensure_limits(names: Sequence[str]) -> None:
    """Create the limits a run needs (1 slot each) unless they exist; strict mode needs them."""
    logger = get_run_logger()
    async with get_client() as client:
        for name in names:
            try:
                await client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                try:
                    await client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=name, limit=1)
                    )
                except ObjectAlreadyExists:  # another run created it meanwhile
                    continue
                logger.info("created the concurrency limit %s (1 slot: one writer per group)", name)


class TaskRunnerError(PipelineError):
    """The chosen task runner cannot be set up."""


def task_runner_for(kind: RunnerKind, dask_address: str | None) -> TaskRunner[Any]:
    """The runner the normalize tasks go to; Dask connects to an existing cluster, never starts one."""
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=2)
    address = dask_address or os.environ.get(DASK_ADDRESS_ENV)
    if not address:
        raise TaskRunnerError(
            f"the dask task runner needs a scheduler: pass --dask-address or set {DASK_ADDRESS_ENV}"
        )
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise TaskRunnerError(
            "the dask task runner needs prefect-dask: pip install 'sinch-groups[dask]'"
        ) from None
    return DaskTaskRunner(address=address)


class PrefectSteps(LocalSteps):
    """Runs each stage as a Prefect task of the current flow run, and publishes the artifacts."""

    def __init__(self, ui: Stages, *, runner: RunnerKind, dask_address: str | None) -> None:
        # The flow run's id is the run id the state and the ledger record.
        super().__init__(ui, run_id=flow_run.get_id())
        self._runner = runner
        self._dask_address = dask_address

    async def run(
        self,
        stage: str,
        key: object | None,
        function: Callable[..., Awaitable[T]] | Callable[..., T],
        /,
        **arguments: Any,
    ) -> T:
        io = stage in IO_STAGES

        async def body(**arguments: Any) -> Any:
            if io and task_run.get_run_count() > 1:
                # A task-level retry re-sends what the client gave up on: it counts as a retry.
                arguments["client"].stats.record_retry()
            return await call_stage(function, arguments)

        body.__qualname__ = body.__name__ = getattr(function, "__name__", stage)
        options = io_task_options() if io else {}
        staged = task(
            body,
            name=stage,
            task_run_name=stage_run_name(stage, key),
            cache_policy=NO_CACHE,
            persist_result=False,
            **options,
        )
        return await staged(**arguments)

    async def map(
        self, stage: str, function: Callable[..., T], calls: Iterable[Mapping[str, Any]]
    ) -> AsyncGenerator[T, None]:
        """Each argument set a task run on the run's task runner (`normalize-0`, ...), handed to
        it as a slot frees (`bounded_map`: the partitions are read as they are needed): one at a
        time on threads (`MAX_PARALLEL`: each uses every core), `DASK_IN_FLIGHT` on a cluster."""
        runner = task_runner_for(self._runner, self._dask_address)
        staged = task(function, name=stage, cache_policy=NO_CACHE, persist_result=False)
        numbers = itertools.count()

        def start(arguments: Mapping[str, Any]) -> Awaitable[T]:
            name = stage_run_name(stage, next(numbers))
            future = runner.submit(
                staged.with_options(task_run_name=name), parameters=dict(arguments)
            )
            # Waiting is blocking; off the event loop it cannot stall the flow's other coroutines.
            return asyncio.to_thread(future.result)

        limit = MAX_PARALLEL if self._runner == "threads" else DASK_IN_FLIGHT
        with runner:
            async with aclosing(bounded_map(calls, start, limit)) as results:
                async for result in results:
                    yield result

    @asynccontextmanager
    async def counter(self, description: str, total: int) -> AsyncIterator[Advance]:
        console = self.ui.counter(description, total)
        progress = await ApplyProgress.start("sync-progress", total, console)
        yield progress.advance
        await progress.finish()

    @asynccontextmanager
    async def hold(self, plan: str, keys: Sequence[str], wait_s: float) -> AsyncIterator[None]:
        """One Prefect global concurrency limit of 1 per group, in strict mode and with a lease:
        flow runs on any worker serialize on it, and a killed run's slot comes back when its lease
        (`lease_s()`, renewed while the run lives) runs out. Missing limits are created, and said."""
        names = [limit_name(plan, key) for key in sorted(set(keys))]
        await _ensure_limits(names)
        try:
            async with concurrency(
                names,
                occupy=1,
                timeout_seconds=max(wait_s, 0.001),
                strict=True,
                lease_duration=lease_s(),
            ):
                yield
        except TimeoutError:
            waited = f"waited {wait_s:g} s" if wait_s > 0 else "--lock-timeout 0"
            raise GroupLockedError(
                f"a group of this run is being written by another flow run (concurrency limit "
                f"{', '.join(names)}; {waited}); run again when it is done, or wait longer "
                "with --lock-timeout"
            ) from None

    async def publish(self, report: SyncReport, rejects: pl.DataFrame) -> None:
        """The run's artifacts: the report page, a table per group, and examples of each reject
        reason (sent together: each is a round trip to the Prefect API)."""
        await asyncio.gather(
            publish_markdown("sync-report", report.to_markdown(), "sinch-groups sync report"),
            publish_table("sync-groups", report.group_rows(), "Per-group counts of the sync"),
            publish_table(
                "sync-rejects",
                reject_examples(rejects),
                f"First rejected rows of each reason ({report.rows_rejected:,} in all); "
                f"every one is in {report.rejects_path}",
            ),
        )
