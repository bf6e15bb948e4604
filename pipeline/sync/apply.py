"""Apply: a plan -> batched `POST /groups/{id}` updates, then a check of the live membership.

Adds and removes travel together in as few requests as the 10,000-per-array limit allows. The
adds and removes of a plan are disjoint, so the batches of one group commute and can be sent
concurrently (the client bounds concurrency). A batch that Sinch refuses because of a number is
split until that number stands alone; it is recorded as an API reject and the rest goes through.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from typing import Protocol

import polars as pl

from pipeline.phones.rejects import empty_rejects
from pipeline.sinch import MAX_MEMBERS_PER_REQUEST, GroupsClient, InvalidNumberError
from pipeline.sync.plan import GroupPlan, difference, differences, member_of

__all__ = [
    "ApiReject",
    "ApplyResult",
    "BatchJournal",
    "VerifyResult",
    "apply_plan",
    "batches",
    "create_missing_groups",
    "left_alone",
    "nothing_to_send",
    "split_api_rejects",
    "verify_group",
]

Progress = Callable[[int], None]
"""Called with the number of changes (adds + removes) a request just completed."""


@dataclass(frozen=True)
class ApiReject:
    """A number the API refused, with the reason it gave."""

    phone_e164: str
    detail: str


@dataclass
class ApplyResult:
    """What applying one group's plan did."""

    key: str
    group_id: str
    added: int = 0
    removed: int = 0
    requests: int = 0
    api_rejects: list[ApiReject] = field(default_factory=list)

    def expected_members(self, plan: GroupPlan) -> pl.Series:
        """The plan's end state, less the adds the API refused (refused removes stay members)."""
        if not self.api_rejects:
            return plan.expected
        refused = pl.Series([r.phone_e164 for r in self.api_rejects], dtype=pl.String)
        refused_adds = refused.filter(member_of(refused, plan.add))
        refused_removes = refused.filter(member_of(refused, plan.remove))
        return pl.concat([difference(plan.expected, refused_adds), refused_removes]).unique()


@dataclass(frozen=True)
class _Batch:
    add: list[str]
    remove: list[str]

    @property
    def size(self) -> int:
        return len(self.add) + len(self.remove)

    def without(self, number: str) -> _Batch:
        return _Batch([n for n in self.add if n != number], [n for n in self.remove if n != number])

    def halves(self) -> tuple[_Batch, _Batch]:
        items = [(n, True) for n in self.add] + [(n, False) for n in self.remove]
        middle = len(items) // 2
        return _Batch.of(items[:middle]), _Batch.of(items[middle:])

    @staticmethod
    def of(items: list[tuple[str, bool]]) -> _Batch:
        return _Batch(
            [n for n, is_add in items if is_add], [n for n, is_add in items if not is_add]
        )


def batches(add: pl.Series, remove: pl.Series, chunk_size: int) -> list[_Batch]:
    """Pair the i-th chunk of adds with the i-th chunk of removes: max(adds, removes)/chunk requests."""
    if not 1 <= chunk_size <= MAX_MEMBERS_PER_REQUEST:
        raise ValueError(f"chunk_size must be between 1 and {MAX_MEMBERS_PER_REQUEST:,}")
    add_chunks = [add[i : i + chunk_size].to_list() for i in range(0, add.len(), chunk_size)]
    remove_chunks = [
        remove[i : i + chunk_size].to_list() for i in range(0, remove.len(), chunk_size)
    ]
    return [
        _Batch(a or [], r or []) for a, r in zip_longest(add_chunks, remove_chunks, fillvalue=None)
    ]


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


class BatchJournal(Protocol):
    """Notes a group's batches as they go (`pipeline.sync.memory.Journal`): the next run must
    tell our own writes from changes made on Sinch's side, even after a kill mid-apply."""

    def sending(self, add: Sequence[str], remove: Sequence[str]) -> None: ...

    def sent(self, add: Sequence[str], remove: Sequence[str]) -> None: ...


class _Applier:
    """Sends one group's batches, isolating refused numbers by splitting."""

    def __init__(
        self,
        client: GroupsClient,
        result: ApplyResult,
        progress: Progress | None,
        journal: BatchJournal | None,
    ) -> None:
        self.client = client
        self.result = result
        self.progress = progress
        self.journal = journal

    async def send(self, batch: _Batch) -> None:
        if batch.size == 0:
            return
        self.result.requests += 1
        if self.journal is not None:  # written in the event loop: batches never interleave
            self.journal.sending(batch.add, batch.remove)
        try:
            await self.client.update_group(
                self.result.group_id, add=batch.add or None, remove=batch.remove or None
            )
        except InvalidNumberError as exc:
            await self._isolate(batch, exc)
            return
        if self.journal is not None:
            self.journal.sent(batch.add, batch.remove)
        self.result.added += len(batch.add)
        self.result.removed += len(batch.remove)
        if self.progress:
            self.progress(batch.size)

    async def _isolate(self, batch: _Batch, exc: InvalidNumberError) -> None:
        named = _digits(exc.value or "")
        culprit = next(
            (n for n in [*batch.add, *batch.remove] if named and _digits(n) == named), None
        )
        if culprit is None and batch.size == 1:
            culprit = (batch.add or batch.remove)[0]
        if culprit is not None:
            self.result.api_rejects.append(ApiReject(culprit, exc.text or str(exc)))
            if self.progress:
                self.progress(1)
            await self.send(batch.without(culprit))
            return
        first, second = batch.halves()
        await self.send(first)
        await self.send(second)


async def create_missing_groups(
    client: GroupsClient, plans: Sequence[GroupPlan]
) -> list[GroupPlan]:
    """Create the groups the plans need, one request each, and return the plans with their ids.

    Creation is the one step that is not idempotent; the client reconciles a create whose response
    was lost, and doing it before any update keeps `apply_plan` a pure, retryable set operation.
    """

    async def ensure(plan: GroupPlan) -> GroupPlan:
        if plan.group_id is not None:
            return plan
        group = await client.create_group(name=plan.name)
        return replace(plan, group_id=group.id)

    return list(await asyncio.gather(*(ensure(plan) for plan in plans)))


async def apply_plan(
    client: GroupsClient,
    plan: GroupPlan,
    *,
    chunk_size: int = MAX_MEMBERS_PER_REQUEST,
    progress: Progress | None = None,
    journal: BatchJournal | None = None,
) -> ApplyResult:
    """Send a plan's batches concurrently (the client bounds how many are in flight).

    Retries of transient failures happen inside the client; the updates are set operations, so a
    retried batch, or a re-run of the whole plan, cannot apply anything twice. `journal` hears
    of each batch before it is sent and once Sinch answered it.
    """
    if plan.group_id is None:
        raise ValueError(f"group {plan.key!r} has no id yet: call create_missing_groups first")
    result = ApplyResult(key=plan.key, group_id=plan.group_id)
    applier = _Applier(client, result, progress, journal)
    await asyncio.gather(*(applier.send(b) for b in batches(plan.add, plan.remove, chunk_size)))
    return result


@dataclass(frozen=True)
class VerifyResult:
    """The difference between the live membership and the expected one (empty when they agree)."""

    key: str
    group_id: str
    size: int
    missing: list[str]
    unexpected: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected


async def verify_group(
    client: GroupsClient, *, key: str, group_id: str, expected: pl.Series
) -> VerifyResult:
    """Re-read the membership and compare it with what the plan promised."""
    live = await client.list_members(group_id)
    missing, unexpected = differences(expected, live)
    return VerifyResult(
        key=key,
        group_id=group_id,
        size=live.len(),
        missing=missing.sort().to_list(),
        unexpected=unexpected.sort().to_list(),
    )


def split_api_rejects(
    valid: pl.LazyFrame, results: Sequence[ApplyResult]
) -> tuple[pl.DataFrame, int]:
    """The valid rows whose number the API refused, as reject rows (reason `api_rejected`), and
    how many distinct (group, number) pairs they hold: every input row stays accounted for after
    apply, and the caller takes them out of its valid count and its duplicates.

    `valid` is read (streamed, for the refused numbers only) just when the API refused one.
    """
    refused = pl.DataFrame(
        [
            {"group": r.key, "phone_e164": reject.phone_e164, "detail": reject.detail}
            for r in results
            for reject in r.api_rejects
        ],
        schema={"group": pl.String, "phone_e164": pl.String, "detail": pl.String},
    )
    if refused.is_empty():  # the usual case: the rows are not read at all
        return empty_rejects(), 0
    keys = ["group", "phone_e164"]
    rows = valid.join(
        refused.lazy(), on=keys, how="inner", nulls_equal=True, maintain_order="left"
    ).collect(engine="streaming")
    rejects = rows.select(
        "source_file",
        "source_line",
        pl.col("phone_raw").alias("raw_value"),
        "region",
        pl.lit("api_rejected").alias("reason"),
        pl.concat_str(pl.lit("Sinch refused the number: "), pl.col("detail")).alias("detail"),
    )
    return rejects, rows.select(keys).n_unique()


async def nothing_to_send(plan: GroupPlan) -> ApplyResult:
    return ApplyResult(key=plan.key, group_id=plan.group_id or "")


async def left_alone(plan: GroupPlan) -> VerifyResult | None:
    """A group the run did not write is not verified: it is reported unchanged, with the time
    the plan read it (a read before our last write proves nothing about the end state)."""
    return None
