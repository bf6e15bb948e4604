"""How the engine runs its stages: the one seam between the library and an orchestrator.

`run_sync` never calls a stage directly; it asks its `Steps` to run it by name ("run `plan` for
group Newsletter with these arguments"). `LocalSteps` calls the function in this process, with a
console progress display if asked for. The Prefect runner (`flows/_steps.py`) subclasses it and
wraps each stage as a task named after the stage, retried when the failure can heal, and
publishes the run's artifacts: one engine, two runners, the same results.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ulid import ULID

from pipeline.progress import Stages
from pipeline.sync.lock import hold_file_locks

if TYPE_CHECKING:
    import polars as pl

    from pipeline.sync.report import SyncReport

__all__ = ["IO_STAGES", "Advance", "LocalSteps", "bounded_map", "call_stage", "stage_run_name"]

T = TypeVar("T")
Advance = Callable[[int], None]
"""Called with how many units of counted work were just done."""

IO_STAGES = frozenset({"read", "resolve-groups", "plan", "create-groups", "apply", "verify"})
"""The stages that talk to Sinch: the ones an orchestrator may retry on a transient failure.
Each takes the client as its `client` keyword argument."""

MAX_PARALLEL = 1
"""Normalization partitions run at once in this process: one, since `phones.normalize` already
runs a slice per core; two at once held two partitions' working memory (a million-row flow run
peaked at 514 MiB with two, 495 and 497 with one) and were no faster."""


async def bounded_map(
    calls: Iterable[Mapping[str, Any]],
    start: Callable[[Mapping[str, Any]], Awaitable[T]],
    limit: int = MAX_PARALLEL,
) -> AsyncGenerator[T, None]:
    """`start` each argument set, at most `limit` at once, and yield the results in order.

    An argument set is taken from `calls` only when a slot is free (in a thread: taking one can
    mean reading the next rows of a file), and a result is let go once yielded: a caller that
    deals with each result as it comes holds `limit` partitions and their results, never all of
    them. On an early exit the calls already started are waited for (their results dropped), so
    none runs on after the map.
    """
    pending: deque[asyncio.Future[T]] = deque()
    iterator = iter(calls)
    try:
        while True:
            while len(pending) < limit:
                arguments = await asyncio.to_thread(next, iterator, None)
                if arguments is None:
                    break
                pending.append(asyncio.ensure_future(start(arguments)))
            if not pending:
                return
            yield await pending.popleft()
    finally:
        await asyncio.gather(*pending, return_exceptions=True)


def stage_run_name(stage: str, key: object | None) -> str:
    """`plan-Newsletter`: the stage, and what this run of it is for (a group, a partition)."""
    return stage if key is None else f"{stage}-{key}"


async def call_stage(
    function: Callable[..., Awaitable[T]] | Callable[..., T], arguments: Mapping[str, Any]
) -> T:
    """Call a stage's function; a plain one runs in a thread, so the event loop stays free for
    the other stages in flight (the membership read ahead while the file loads)."""
    if asyncio.iscoroutinefunction(function):
        return await function(**arguments)
    return await asyncio.to_thread(function, **arguments)  # type: ignore[arg-type]


class LocalSteps:
    """Runs every stage in this process; draws progress on the console through `ui` (silent by
    default)."""

    def __init__(self, ui: Stages | None = None, *, run_id: str | None = None) -> None:
        self.ui = ui or Stages(None)
        self.run_id = run_id or str(ULID())
        """What the state and the ledger record as the run that wrote them (a flow run's id
        through Prefect)."""

    async def run(
        self,
        stage: str,
        key: object | None,
        function: Callable[..., Awaitable[T]] | Callable[..., T],
        /,
        **arguments: Any,
    ) -> T:
        """Run one stage here (`call_stage`)."""
        return await call_stage(function, arguments)

    def map(
        self, stage: str, function: Callable[..., T], calls: Iterable[Mapping[str, Any]]
    ) -> AsyncGenerator[T, None]:
        """Run `function` once per argument set (normalization partitions), `MAX_PARALLEL` at
        once in threads, and yield the results in order (`bounded_map`)."""
        return bounded_map(calls, lambda arguments: asyncio.to_thread(function, **arguments))

    def step(self, description: str) -> AbstractContextManager[None]:
        """A stage of unknown length (loading, planning): a spinner line."""
        return self.ui.step(description)

    @asynccontextmanager
    async def counter(self, description: str, total: int) -> AsyncIterator[Advance]:
        """Counted work (changes applied): a bar; yields the callback that advances it."""
        yield self.ui.counter(description, total)

    def hold(
        self, plan: str, keys: Sequence[str], wait_s: float
    ) -> AbstractAsyncContextManager[None]:
        """Hold the write lock of each group in `keys` (`group_lock_keys`) of service plan `plan`:
        file locks in `$SINCH_GROUPS_HOME/locks/` in-process (`lock.py`)."""
        return hold_file_locks(plan, keys, wait_s=wait_s)

    async def publish(self, report: SyncReport, rejects: pl.DataFrame) -> None:
        """Where an orchestrator records the finished run; in-process, the files are the record."""
