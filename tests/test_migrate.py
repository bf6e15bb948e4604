"""Migrate between the emulator's two service plans over real HTTP: ids mapped, re-runs idempotent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipeline.migrate import (
    Action,
    GroupOutcome,
    GroupSource,
    LiveSource,
    MappingEntry,
    MappingFile,
    MigrationError,
    SnapshotSource,
    SourceGroup,
    check_distinct,
    default_mapping_path,
    dependency_order,
    migrate_group,
    plan_migration,
)
from pipeline.sinch import AutoUpdate, GroupsClient, Keyword
from pipeline.snapshot import export_snapshot, open_snapshot
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorServer

SOURCE = {"base_url": "http://127.0.0.1", "service_plan_id": DEFAULT_PLAN_ID}
DESTINATION = {"base_url": "http://127.0.0.1", "service_plan_id": "secondplan"}


def number(i: int) -> str:
    return f"+4479111{i:05d}"


def source_client(server: EmulatorServer) -> GroupsClient:
    return GroupsClient(
        service_plan_id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN, base_url=server.base_url
    )


def destination_client(server: EmulatorServer) -> GroupsClient:
    return GroupsClient(
        service_plan_id="secondplan", token="second-token", base_url=server.base_url
    )


async def seed(server: EmulatorServer) -> dict[str, str]:
    """A child, a parent of it (with auto-update), an unnamed group, an empty one, a big one."""
    async with source_client(server) as client:
        child = await client.create_group(name="child", members=[number(1), number(2)])
        parent = await client.create_group(
            name="parent",
            members=[number(3)],
            child_groups=[child.id],
            auto_update=AutoUpdate(
                to="+15551231234", add=Keyword(first_word="JOIN", second_word="NOW")
            ),
        )
        unnamed = await client.create_group(members=[number(4)])
        empty = await client.create_group(name="empty")
        big = await client.create_group(name="big", members=[number(i) for i in range(100, 10_100)])
        await client.update_group(big.id, add=[number(i) for i in range(10_100, 10_600)])
    return {
        "child": child.id,
        "parent": parent.id,
        "unnamed": unnamed.id,
        "empty": empty.id,
        "big": big.id,
    }


async def migrate(
    source: GroupSource,
    destination: GroupsClient,
    mapping_path: Path,
    *,
    adopt_existing: bool = False,
) -> list[GroupOutcome]:
    """What the flow does, without Prefect: plan, then each group in order."""
    mapping = MappingFile.open(mapping_path, source=source.description, destination=DESTINATION)
    steps = await plan_migration(source, destination, mapping, adopt_existing=adopt_existing)
    return [await migrate_group(step, source, destination, mapping) for step in steps]


async def destination_state(
    server: EmulatorServer,
) -> dict[str | None, tuple[set[str], list[str], object]]:
    """name -> (members, child group names, auto_update) on the destination plan."""
    async with destination_client(server) as client:
        groups = [g async for g in client.iter_groups()]
        names = {g.id: g.name for g in groups}
        return {
            g.name: (
                set(await client.list_members(g.id)),
                sorted(names[c] or "" for c in g.child_groups),
                g.auto_update,
            )
            for g in groups
        }


async def test_live_migration_recreates_everything_and_a_rerun_duplicates_nothing(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    ids = await seed(live_emulator)
    mapping_path = tmp_path / "mapping.parquet"
    async with source_client(live_emulator) as src, destination_client(live_emulator) as dst:
        source = LiveSource(src, SOURCE)
        first = await migrate(source, dst, mapping_path)
        assert {o.action for o in first} == {Action.CREATE}
        order = [o.source_id for o in first]
        assert order.index(ids["child"]) < order.index(ids["parent"])

        second = await migrate(source, dst, mapping_path)
        assert {o.action for o in second} == {Action.SKIP_DONE}
        assert [o.target_id for o in second] == [o.target_id for o in first]

    state = await destination_state(live_emulator)
    assert len(state) == 5
    assert state["child"][0] == {number(1), number(2)}
    assert state["parent"][1] == ["child"]
    assert state["parent"][2] == AutoUpdate(
        to="+15551231234", add=Keyword(first_word="JOIN", second_word="NOW")
    )
    assert state[None][0] == {number(4)}
    assert state["empty"][0] == set()
    assert state["big"][0] == {number(i) for i in range(100, 10_600)}

    mapping = pl.read_parquet(mapping_path)
    assert mapping.height == 5
    assert mapping["complete"].all()
    assert dict(mapping.select("source_id", "members").iter_rows())[ids["big"]] == 10_500
    assert set(mapping["source_id"]) == set(ids.values())
    assert set(mapping["target_id"]).isdisjoint(ids.values())


async def test_rerun_verifies_the_destination(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    """A mapped group deleted on the destination is re-created; an incomplete one is finished."""
    ids = await seed(live_emulator)
    mapping_path = tmp_path / "mapping.parquet"
    async with source_client(live_emulator) as src, destination_client(live_emulator) as dst:
        source = LiveSource(src, SOURCE)
        first = {o.source_id: o.target_id for o in await migrate(source, dst, mapping_path)}
        await dst.delete_group(first[ids["child"]])
        mapping = MappingFile.open(mapping_path, source=SOURCE, destination=DESTINATION)
        big = mapping.get(ids["big"])
        assert big is not None
        mapping.record(replace(big, complete=False))  # as if a run had stopped mid-batches
        await dst.update_group(first[ids["big"]], remove=[number(i) for i in range(10_100, 10_600)])

        again = {o.source_id: o for o in await migrate(source, dst, mapping_path)}
    assert again[ids["child"]].action is Action.RECREATE
    assert again[ids["child"]].target_id != first[ids["child"]]
    assert again[ids["big"]].action is Action.RESUME
    assert again[ids["parent"]].action is Action.SKIP_DONE
    state = await destination_state(live_emulator)
    assert state["child"][0] == {number(1), number(2)}
    assert state["big"][0] == {number(i) for i in range(100, 10_600)}
    recreated = pl.read_parquet(mapping_path).filter(source_id=ids["child"])
    assert recreated.select("action", "complete").row(0) == ("recreated", True)


async def test_a_same_named_group_is_skipped_unless_adopted(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    ids = await seed(live_emulator)
    async with destination_client(live_emulator) as dst:
        existing = await dst.create_group(name="child", members=[number(9)])
    async with source_client(live_emulator) as src, destination_client(live_emulator) as dst:
        source = LiveSource(src, SOURCE)
        skipped = {o.source_id: o for o in await migrate(source, dst, tmp_path / "a.parquet")}
        assert skipped[ids["child"]].action is Action.SKIP_NAME_TAKEN
        assert "pass --adopt-existing" in skipped[ids["child"]].warnings[0]
        assert any("child group" in w and "left out" in w for w in skipped[ids["parent"]].warnings)

        adopted = {
            o.source_id: o
            for o in await migrate(source, dst, tmp_path / "b.parquet", adopt_existing=True)
        }
    assert adopted[ids["child"]].action is Action.ADOPT
    assert adopted[ids["child"]].target_id == existing.id
    state = await destination_state(live_emulator)
    child_members = [members for name, (members, _, _) in state.items() if name == "child"]
    assert child_members == [{number(1), number(2), number(9)}]


async def test_a_retried_create_resumes_instead_of_duplicating(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    await seed(live_emulator)
    async with source_client(live_emulator) as src, destination_client(live_emulator) as dst:
        source = LiveSource(src, SOURCE)
        mapping = MappingFile.open(tmp_path / "m.parquet", source=SOURCE, destination=DESTINATION)
        steps = await plan_migration(source, dst, mapping)
        first = await migrate_group(steps[0], source, dst, mapping)
        retried = await migrate_group(steps[0], source, dst, mapping)
        assert (retried.action, retried.target_id) == (Action.RESUME, first.target_id)
        assert len([g async for g in dst.iter_groups()]) == 1


async def test_migrate_from_a_snapshot(live_emulator: EmulatorServer, tmp_path: Path) -> None:
    ids = await seed(live_emulator)
    async with source_client(live_emulator) as src:
        snapshot = open_snapshot(
            (await export_snapshot(src, tmp_path / "snaps", target=SOURCE)).path
        )
    source = SnapshotSource(snapshot)
    assert source.description == SOURCE
    groups = {g.id: g for g in await source.groups()}
    assert groups[ids["parent"]].auto_update == AutoUpdate(
        to="+15551231234", add=Keyword(first_word="JOIN", second_word="NOW")
    )
    async with destination_client(live_emulator) as dst:
        outcomes = await migrate(source, dst, tmp_path / "mapping.parquet")
    assert {o.action for o in outcomes} == {Action.CREATE}
    state = await destination_state(live_emulator)
    assert state["parent"][1] == ["child"]
    assert state["big"][0] == {number(i) for i in range(100, 10_600)}


def test_mapping_for_other_accounts_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    mapping = MappingFile.open(path, source=SOURCE, destination=DESTINATION)
    now = datetime.now(UTC)
    mapping.record(MappingEntry("0" * 26, "1" * 26, None, 0, True, "created", now))
    assert (
        MappingFile.open(path, source=SOURCE, destination=DESTINATION).target_of("0" * 26)
        == "1" * 26
    )
    with pytest.raises(
        MigrationError, match="maps sinchgroupsdemo -> secondplan, not sinchgroupsdemo -> other"
    ):
        MappingFile.open(path, source=SOURCE, destination={"service_plan_id": "other"})


def test_dependency_order_puts_children_first_and_cycles_last() -> None:
    def group(gid: str, *children: str) -> SourceGroup:
        return SourceGroup(gid, gid, children)

    groups = [
        group("A", "B"),
        group("B", "C"),
        group("C"),
        group("X", "Y"),
        group("Y", "X"),
        group("D", "Z"),
    ]
    assert [g.id for g in dependency_order(groups)] == ["C", "D", "B", "A", "X", "Y"]


def test_a_live_migration_into_the_same_plan_is_refused() -> None:
    with pytest.raises(MigrationError, match="same account"):
        check_distinct(LiveSource(None, SOURCE), SOURCE)  # type: ignore[arg-type]
    assert default_mapping_path(SOURCE, DESTINATION) == Path(
        "sinch-groups-migrations/sinchgroupsdemo--to--secondplan.parquet"
    )
