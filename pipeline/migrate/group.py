"""Carrying out one planned step: one source group recreated, adopted or finished on the destination.

A step may be retried at any point (a Prefect task retry or a re-run), so the mapping is written
as soon as the destination group exists and marked complete only after the last batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pipeline.migrate.mapping import MappingEntry, MappingFile
from pipeline.migrate.plan import Action, MigrationStep
from pipeline.migrate.source import GroupSource, SourceGroup
from pipeline.sinch import MAX_MEMBERS_PER_REQUEST, GroupsClient

__all__ = ["GroupOutcome", "migrate_group"]


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """What happened to one source group."""

    source_id: str
    name: str | None
    action: Action
    target_id: str | None
    members: int = 0
    """Members sent to the destination by this run (0 for skipped groups)."""
    warnings: tuple[str, ...] = ()


def _label(group: SourceGroup) -> str:
    return f"{group.name!r} ({group.id})" if group.name else f"unnamed group {group.id}"


def _map_children(group: SourceGroup, mapping: MappingFile) -> tuple[list[str], list[str]]:
    """The destination ids of a group's children, and a warning for each one left out."""
    children, warnings = [], []
    for child in group.child_groups:
        target = mapping.target_of(child)
        if target is None:
            warnings.append(
                f"{_label(group)}: child group {child} has not been migrated "
                "(not in the source, skipped, or in a cycle); it is left out"
            )
        else:
            children.append(target)
    return children, warnings


def _batches(members: Sequence[str]) -> list[Sequence[str]]:
    size = MAX_MEMBERS_PER_REQUEST
    return [members[start : start + size] for start in range(0, len(members), size)]


_RECORDED_AS = {Action.CREATE: "created", Action.RECREATE: "recreated", Action.ADOPT: "adopted"}


async def migrate_group(
    step: MigrationStep, source: GroupSource, client: GroupsClient, mapping: MappingFile
) -> GroupOutcome:
    """Carry out one step; safe to run again after a failure at any point.

    The mapping row is written as soon as the destination group is known (created or adopted)
    and marked complete after the last batch, so a retry (a Prefect task retry or a re-run)
    finishes the group instead of creating a second one.
    """
    group, action, target_id = step.group, step.action, step.target_id
    entry = mapping.get(group.id)
    creating = action in (Action.CREATE, Action.RECREATE)
    if creating and entry is not None and entry.target_id != step.target_id:
        action, target_id = Action.RESUME, entry.target_id  # an earlier attempt created it
    if action is Action.SKIP_DONE:
        return GroupOutcome(group.id, group.name, action, target_id)
    if action is Action.SKIP_NAME_TAKEN:
        warning = (
            f"{_label(group)} not migrated: the destination already has a group with that name "
            f"({target_id}) that is not in the mapping; pass --adopt-existing to add to it"
        )
        return GroupOutcome(group.id, group.name, action, target_id, warnings=(warning,))

    members = await source.members(group.id)
    batches = _batches(members)
    warnings: list[str] = []
    now = datetime.now(UTC)
    if action in (Action.CREATE, Action.RECREATE):
        children, warnings = _map_children(group, mapping)
        created = await client.create_group(
            name=group.name,
            members=batches[0] if batches else None,
            child_groups=children or None,
            auto_update=group.auto_update,
        )
        target_id, batches = created.id, batches[1:]
        entry = MappingEntry(
            group.id, target_id, group.name, len(members), not batches, _RECORDED_AS[action], now
        )
        mapping.record(entry)
    elif action is Action.ADOPT:
        assert target_id is not None  # plan_steps names the group to adopt
        entry = MappingEntry(
            group.id, target_id, group.name, len(members), not batches, "adopted", now
        )
        mapping.record(entry)
    assert entry is not None  # RESUME steps only come from a mapped group
    assert target_id is not None
    for batch in batches:
        await client.update_group(target_id, add=batch)
    if not entry.complete:
        mapping.record(replace(entry, members=len(members), complete=True, migrated_at=now))
    return GroupOutcome(group.id, group.name, action, target_id, len(members), tuple(warnings))
