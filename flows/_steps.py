"""The Prefect runner of the sync engine: each stage a task, named as the engine names it.

`pipeline.sync.engine.run_sync` asks its `Steps` to run `load`, `normalize` (per partition),
`read`, `resolve-groups`, `plan`, `create-groups`, `apply`, `verify` and `suppressions`. Here each
becomes a task run named after the stage and what it is for (`plan-Newsletter`, `normalize-0`);
the stages that talk to Sinch retry on failures that can heal (`_tasks.io_task_options`). The
normalize partitions go to the run's task runner: threads here, or an existing Dask cluster.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows._artifacts import ApplyProgress, publish_markdown, publish_table, reject_examples
from flows._tasks import io_task_options
from pipeline.errors import PipelineError
from pipeline.progress import Stages
from pipeline.sync.options import RunnerKind
from pipeline.sync.report import SyncReport
from pipeline.sync.steps import IO_STAGES, Advance, LocalSteps, stage_run_name

T = TypeVar("T")
DASK_ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"


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
        super().__init__(ui)
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
            if asyncio.iscoroutinefunction(function):
                return await function(**arguments)
            return await asyncio.to_thread(function, **arguments)

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
        self, stage: str, function: Callable[..., T], calls: Sequence[Mapping[str, Any]]
    ) -> list[T]:
        runner = task_runner_for(self._runner, self._dask_address)
        staged = task(function, name=stage, cache_policy=NO_CACHE, persist_result=False)
        with runner:
            futures = [
                runner.submit(
                    staged.with_options(task_run_name=stage_run_name(stage, number)),
                    parameters=dict(arguments),
                )
                for number, arguments in enumerate(calls)
            ]
            # Waiting is blocking; off the event loop it cannot stall the flow's other coroutines.
            return await asyncio.to_thread(lambda: [future.result() for future in futures])

    @asynccontextmanager
    async def counter(self, description: str, total: int) -> AsyncIterator[Advance]:
        console = self.ui.counter(description, total)
        progress = await ApplyProgress.start("sync-progress", total, console)
        yield progress.advance
        await progress.finish()

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
