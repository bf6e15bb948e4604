"""Normalization of a large file in partitions, on the task runner a run chooses.

`phones.normalize` is row-local (a row's result depends on that row only), so a file cut into
slices and normalized slice by slice gives exactly the whole file's result; this is what lets a
Dask cluster share the work. Threads are the default: polars already uses every core of one
machine, and the slices then only bound each task's memory.
"""

from __future__ import annotations

import asyncio
import os
from typing import Literal

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from pipeline import phones
from pipeline.errors import PipelineError

RunnerKind = Literal["threads", "dask"]
DASK_ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"


class TaskRunnerError(PipelineError):
    """The chosen task runner cannot be set up."""


@task(
    name="normalize", task_run_name="normalize-{part}", cache_policy=NO_CACHE, persist_result=False
)
def normalize_partition(
    frame: pl.DataFrame, part: int, default_region: str | None, mobile_only: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, rejected rows) of one slice of the input."""
    result = phones.normalize(frame, default_region=default_region, mobile_only=mobile_only)
    return result.valid, result.rejects


def task_runner_for(kind: RunnerKind, dask_address: str | None) -> TaskRunner:
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


def _collect(
    futures: list[PrefectFuture[tuple[pl.DataFrame, pl.DataFrame]]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    parts = [future.result() for future in futures]
    valid = pl.concat([v for v, _ in parts], how="vertical_relaxed")
    rejects = pl.concat([r for _, r in parts], how="vertical_relaxed")
    return valid, rejects


async def normalize_in_partitions(
    frame: pl.DataFrame,
    *,
    default_region: str | None,
    mobile_only: bool,
    partition_rows: int,
    runner: RunnerKind,
    dask_address: str | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, rejected rows) of the whole frame, in input order, one task per slice."""
    task_runner = task_runner_for(runner, dask_address)
    slices = list(frame.iter_slices(partition_rows)) or [frame]
    with task_runner:
        futures = [
            task_runner.submit(
                normalize_partition,
                parameters={
                    "frame": part,
                    "part": number,
                    "default_region": default_region,
                    "mobile_only": mobile_only,
                },
            )
            for number, part in enumerate(slices)
        ]
        # Waiting is blocking; off the event loop it cannot stall the flow's other coroutines.
        return await asyncio.to_thread(_collect, futures)
