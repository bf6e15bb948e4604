"""Planning: what a run does with each source group, decided before anything is written.

The decision (`plan_steps`) is pure, from the source groups, the mapping and a listing of the
destination, so the rules that make a re-run safe can be checked without an API.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pipeline.migrate.mapping import MappingFile, MigrationError, account_id
from pipeline.migrate.source import GroupSource, LiveSource, SourceGroup
from pipeline.sinch import Group, GroupsClient
from pipeline.snapshot import oldest_first

__all__ = [
    "Action",
    "MigrationStep",
    "check_distinct",
    "dependency_order",
    "plan_migration",
    "plan_steps",
    "require_one_source",
]


def require_one_source(from_env_prefix: str | None, from_snapshot: str | None) -> None:
    """A migration reads from exactly one place: a live plan or a snapshot."""
    if (from_env_prefix is None) == (from_snapshot is None):
        raise MigrationError("name exactly one source: --from-env PREFIX or --from-snapshot PATH")


def check_distinct(source: GroupSource, destination: Mapping[str, str]) -> None:
    """Refuse a live migration of a plan into itself: it would duplicate every group.

    Restoring a snapshot into the plan it was taken from is allowed (that is a restore).
    """
    if isinstance(source, LiveSource) and source.description == dict(destination):
        raise MigrationError(
            f"the source and the destination are the same account ({account_id(destination)}); "
            "point --from-env and --to-env at different service plans or regions"
        )


class Action(StrEnum):
    """What a run does with one source group, decided from the mapping and the destination."""

    CREATE = "create"
    RECREATE = "recreate"  # mapped, but the destination group no longer exists
    RESUME = "resume"  # mapped and still there, but a previous run stopped before the last batch
    ADOPT = "adopt"  # unmapped, a same-named destination group exists, and adopting is allowed
    SKIP_DONE = "already-migrated"
    SKIP_NAME_TAKEN = "name-taken"  # unmapped, a same-named destination group exists


@dataclass(frozen=True, slots=True)
class MigrationStep:
    group: SourceGroup
    action: Action
    target_id: str | None
    """The destination group this step works on (for RECREATE: the mapped one that is gone)."""


def dependency_order(groups: Sequence[SourceGroup]) -> list[SourceGroup]:
    """Children before parents, otherwise in the given order.

    Groups in a cycle of child references (or waiting on one) come last in the given order;
    their unresolvable child links are then dropped with a warning by `migrate_group`.
    """
    known = {group.id for group in groups}
    waits_on = {g.id: {c for c in g.child_groups if c in known and c != g.id} for g in groups}
    ordered: list[SourceGroup] = []
    placed: set[str] = set()
    while True:
        ready = [g for g in groups if g.id not in placed and waits_on[g.id] <= placed]
        if not ready:
            break
        ordered += ready
        placed.update(g.id for g in ready)
    return ordered + [g for g in groups if g.id not in placed]


def plan_steps(
    groups: Sequence[SourceGroup],
    mapping: MappingFile,
    destination: Sequence[Group],
    *,
    adopt_existing: bool = False,
) -> list[MigrationStep]:
    """Decide what to do with each source group (pure: no I/O), in dependency order."""
    existing = {group.id for group in destination}
    mapped = {entry.target_id for entry in mapping.entries()}
    unclaimed: dict[str, deque[str]] = defaultdict(deque)
    for group in sorted(destination, key=oldest_first):
        if group.name is not None and group.id not in mapped:
            unclaimed[group.name].append(group.id)
    steps = []
    for group in dependency_order(groups):
        entry = mapping.get(group.id)
        same_name = unclaimed.get(group.name) if group.name is not None else None
        if entry is not None and entry.target_id in existing:
            action = Action.SKIP_DONE if entry.complete else Action.RESUME
            steps.append(MigrationStep(group, action, entry.target_id))
        elif entry is not None:
            steps.append(MigrationStep(group, Action.RECREATE, entry.target_id))
        elif same_name and adopt_existing:
            steps.append(MigrationStep(group, Action.ADOPT, same_name.popleft()))
        elif same_name:
            steps.append(MigrationStep(group, Action.SKIP_NAME_TAKEN, same_name[0]))
        else:
            steps.append(MigrationStep(group, Action.CREATE, None))
    return steps


async def plan_migration(
    source: GroupSource, client: GroupsClient, mapping: MappingFile, *, adopt_existing: bool = False
) -> list[MigrationStep]:
    """List the source and the destination, then `plan_steps`."""
    groups = await source.groups()
    destination = [group async for group in client.iter_groups()]
    return plan_steps(groups, mapping, destination, adopt_existing=adopt_existing)
