"""Snapshots against the emulator over real HTTP: layout, types, metadata, streaming, diff, restore."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import polars as pl
import pyarrow.parquet as pq
import pytest

from pipeline.migrate import MappingFile, SnapshotSource, migrate_group, plan_migration
from pipeline.phones import describe_numbers
from pipeline.sinch import AutoUpdate, Group, Keyword
from pipeline.snapshot import (
    METADATA_KEYS,
    GroupMembers,
    Layout,
    MatchOn,
    SnapshotError,
    SnapshotResult,
    diff_snapshots,
    export_snapshot,
    fetch_group,
    latest_snapshots,
    list_snapshots,
    open_snapshot,
    select_groups,
    write_snapshot,
)
from pipeline.snapshot import write as snapshot_write
from pipeline.snapshot.layout import ORPHAN_AGE
from pipeline.storage import read_file_metadata
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorServer
from tests.live import client_for, members_by_name

TARGET = {"base_url": "http://127.0.0.1", "service_plan_id": DEFAULT_PLAN_ID}
HOSTILE_NAMES = ["../../x", "a/b", "CON", "x:y*z?<>|", "🎉 party", ".hidden", "snapshot_at=1"]


def number(i: int) -> str:
    """A valid UK mobile number, distinct for each i < 100,000."""
    return f"+4479111{i:05d}"


async def seed_hostile(server: EmulatorServer) -> dict[str, str]:
    """Groups with file-system-hostile names, an empty and an unnamed group, a parent with a
    child and auto-update. Returns name (or "<unnamed>") -> id."""
    ids: dict[str, str] = {}
    async with client_for(server) as client:
        for index, name in enumerate(HOSTILE_NAMES):
            members = [number(index * 10 + k) for k in range(index + 1)]
            ids[name] = (await client.create_group(name=name, members=members)).id
        ids["empty"] = (await client.create_group(name="empty")).id
        ids["<unnamed>"] = (await client.create_group(members=[number(900), "+12015550123"])).id
        parent = await client.create_group(
            name="parent",
            members=[number(950)],
            child_groups=[ids["CON"], ids["a/b"]],
            auto_update=AutoUpdate(
                to="+15551231234",
                add=Keyword(first_word="JOIN"),
                remove=Keyword(first_word="LEAVE", second_word="NOW"),
            ),
        )
        ids["parent"] = parent.id
    return ids


async def export(server: EmulatorServer, root: Path, **options: object) -> SnapshotResult:
    async with client_for(server) as client:
        return await export_snapshot(client, root, target=TARGET, **options)  # type: ignore[arg-type]


def tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


async def test_export_writes_typed_files_with_metadata_and_hostile_names_stay_inside(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    ids = await seed_hostile(live_emulator)
    root = tmp_path / "deep" / "dataset"
    result = await export(live_emulator, root)

    partition = f"snapshot_at={result.taken_at:%Y-%m-%dT%H:%M:%S}.{result.taken_at:%f}"[:-3] + "Z"
    assert result.path == root / "members" / partition
    assert tree(tmp_path) == [
        "deep",
        "deep/dataset",
        "deep/dataset/groups",
        f"deep/dataset/groups/{partition}",
        f"deep/dataset/groups/{partition}/groups.parquet",
        "deep/dataset/members",
        f"deep/dataset/members/{partition}",
        f"deep/dataset/members/{partition}/members.parquet",
    ]
    groups = pl.read_parquet(result.groups_path)
    assert groups.schema["created_at"] == pl.Datetime("ms", "UTC")
    assert groups.schema["modified_at"] == pl.Datetime("ms", "UTC")
    assert groups.schema["child_groups"] == pl.List(pl.String)
    assert groups.schema["size"] == pl.Int64
    assert set(groups["name"].to_list()) == {*HOSTILE_NAMES, "empty", "parent", None}
    parent = groups.row(by_predicate=pl.col("name") == "parent", named=True)
    assert sorted(parent["child_groups"]) == sorted([ids["CON"], ids["a/b"]])
    assert (parent["auto_update_to"], parent["auto_update_add_first_word"]) == (
        "+15551231234",
        "JOIN",
    )
    assert (parent["auto_update_remove_first_word"], parent["auto_update_remove_second_word"]) == (
        "LEAVE",
        "NOW",
    )
    assert groups.filter(name="empty")["member_count"].to_list() == [0]

    members = pl.read_parquet(result.members_path)
    assert members.columns == ["group_id", "group_name", "phone_e164", "region", "number_type"]
    assert members.height == sum(range(1, len(HOSTILE_NAMES) + 1)) + 2 + 1
    us = members.row(by_predicate=pl.col("phone_e164") == "+12015550123", named=True)
    assert (us["group_id"], us["group_name"], us["region"]) == (ids["<unnamed>"], None, "US")
    assert members.filter(pl.col("phone_e164").str.starts_with("+44"))[
        "number_type"
    ].unique().to_list() == ["MOBILE"]
    assert members["phone_e164"].str.starts_with("+").all()

    for path in (result.groups_path, result.members_path):
        metadata = read_file_metadata(path)
        assert metadata["group_count"] == str(len(ids))
        assert metadata["member_count"] == str(members.height)
        assert metadata["size_mismatches"] == "0"
        assert json.loads(metadata["target"]) == TARGET
        assert metadata["snapshot_at"].endswith("Z")
        assert metadata["kind"] == path.stem
        assert set(METADATA_KEYS) <= metadata.keys()
        assert metadata["tool_version"]
        assert DEFAULT_TOKEN.encode() not in path.read_bytes()

    snapshot = open_snapshot(result.members_path)
    assert open_snapshot(result.groups_path.parent) == snapshot
    assert (snapshot.path, snapshot.layout, snapshot.group_count, snapshot.member_count) == (
        result.path,
        Layout.DATASET,
        len(ids),
        members.height,
    )


async def test_dataset_reads_back_with_polars_and_duckdb(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    await seed_hostile(live_emulator)
    first = await export(live_emulator, tmp_path)
    async with client_for(live_emulator) as client:
        await client.create_group(name="late", members=[number(5000)])
    second = await export(live_emulator, tmp_path)
    assert [s.path for s in list_snapshots(tmp_path)] == [first.path, second.path]

    members = pl.scan_parquet(tmp_path / "members").collect()
    assert members.schema["snapshot_at"] == pl.Datetime("us", "UTC")
    per_snapshot = dict(members.group_by("snapshot_at").len().sort("snapshot_at").iter_rows())
    assert list(per_snapshot.values()) == [31, 32]
    assert list(per_snapshot) == [first.taken_at, second.taken_at]

    groups = pl.scan_parquet(tmp_path / "groups").collect()
    assert groups.group_by("snapshot_at").len().sort("snapshot_at")["len"].to_list() == [10, 11]

    glob = (tmp_path / "members" / "*" / "*.parquet").as_posix()
    rows = duckdb.sql(
        f"select typeof(snapshot_at), snapshot_at, count(*) as n "
        f"from read_parquet('{glob}', hive_partitioning=true) group by all order by 2"
    ).fetchall()
    naive = [taken.astimezone(UTC).replace(tzinfo=None) for taken in per_snapshot]
    assert rows == [("TIMESTAMP", naive[0], 31), ("TIMESTAMP", naive[1], 32)]
    groups_glob = (tmp_path / "groups" / "*" / "*.parquet").as_posix()
    joined = duckdb.sql(
        f"select count(*) from read_parquet('{glob}', hive_partitioning=true) m "
        f"join read_parquet('{groups_glob}', hive_partitioning=true) g "
        "on m.group_id = g.id and m.snapshot_at = g.snapshot_at where g.name = 'late'"
    ).fetchall()
    assert joined == [(1,)]


async def test_select_by_id_and_name_and_refuse_unknown_ones(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    ids = await seed_hostile(live_emulator)
    async with client_for(live_emulator) as client:
        chosen = await select_groups(client, group_ids=[ids["parent"]], group_names=["a/b", "CON"])
        assert sorted(g.name for g in chosen) == ["CON", "a/b", "parent"]
        with pytest.raises(
            SnapshotError, match=r"no such group on this service plan: 'nope', id 0{26}"
        ):
            await select_groups(client, group_ids=["0" * 26], group_names=["nope"])
    result = await export(live_emulator, tmp_path, group_names=["CON"])
    assert pl.read_parquet(result.groups_path)["name"].to_list() == ["CON"]


def fake_group(index: int, size: int) -> Group:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Group(id=f"{index:026d}", name=f"g{index}", size=size, created_at=now, modified_at=now)


async def test_members_stream_one_row_group_per_group_in_order_with_bounded_fetches(
    tmp_path: Path,
) -> None:
    groups = [fake_group(i, 3) for i in range(12)]
    in_flight, peak = 0, 0

    async def fetch(group: Group) -> GroupMembers:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02 * (12 - int(group.id)) / 12)  # later groups finish first
        in_flight -= 1
        base = int(group.id) * 10
        return GroupMembers(group, pl.Series([number(base + k) for k in range(3)], dtype=pl.String))

    done: list[int] = []
    result = await write_snapshot(
        tmp_path, groups, fetch, target=TARGET, concurrency=3, progress=done.append
    )
    assert peak == 3
    assert len(done) == 12
    parquet = pq.ParquetFile(result.members_path)
    assert parquet.num_row_groups == 12
    order = pl.read_parquet(result.members_path)["group_id"].unique(maintain_order=True)
    assert order.to_list() == [g.id for g in groups]


@pytest.mark.parametrize("batch", [1, 7, 1_000])
async def test_groups_enriched_together_match_groups_enriched_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """Batches of small groups (and a batch boundary inside a run of groups, and groups larger
    than a batch) give the rows that describing each group alone gives, one row group each."""
    monkeypatch.setattr(snapshot_write, "ENRICH_BATCH", batch)
    spread = ["+12015550123", "+33612345678", "+4930123456", "+819012345678", "+447400123456"]
    members = {
        0: [number(k) for k in range(5)],
        1: [],
        2: [*spread, number(3)],  # numbers shared with group 0, other countries
        3: [number(k) for k in range(40, 20, -1)],  # listed out of order
        4: [],
        5: ["+447400123456"],
    }
    groups = [fake_group(i, len(numbers)) for i, numbers in members.items()]

    async def fetch(group: Group) -> GroupMembers:
        return GroupMembers(group, pl.Series(members[int(group.id)], dtype=pl.String))

    result = await write_snapshot(tmp_path, groups, fetch, target=TARGET, concurrency=2)

    written = pl.read_parquet(result.members_path)
    alone = pl.concat(
        [
            pl.Series("phone_e164", members[int(g.id)], dtype=pl.String)
            .sort()
            .to_frame()
            .join(
                describe_numbers(pl.Series(members[int(g.id)], dtype=pl.String)),
                on="phone_e164",
                maintain_order="left",
            )
            .select(
                pl.lit(g.id).alias("group_id"),
                pl.lit(g.name).alias("group_name"),
                "phone_e164",
                "region",
                "number_type",
            )
            for g in groups
        ]
    )
    assert written.to_dicts() == alone.to_dicts()
    assert written["region"].null_count() == 0
    assert pq.ParquetFile(result.members_path).num_row_groups == 4  # non-empty groups
    assert pl.read_parquet(result.groups_path)["member_count"].to_list() == [
        len(members[i]) for i in members
    ]
    assert result.size_mismatches == ()


async def test_a_size_that_disagrees_with_the_members_is_reported(tmp_path: Path) -> None:
    groups = [fake_group(1, 5), fake_group(2, 1)]

    async def fetch(group: Group) -> GroupMembers:
        return GroupMembers(group, pl.Series([number(int(group.id))], dtype=pl.String))

    result = await write_snapshot(tmp_path, groups, fetch, target=TARGET)
    assert result.warnings == [
        "group 'g1' (00000000000000000000000001) reports size 5 but lists 1 members"
    ]
    assert read_file_metadata(result.members_path)["size_mismatches"] == "1"
    frame = pl.read_parquet(result.groups_path)
    assert frame.select("size", "member_count").rows() == [(5, 1), (1, 1)]


async def test_a_failed_export_leaves_nothing_behind(tmp_path: Path) -> None:
    async def fetch(group: Group) -> GroupMembers:
        if group.id.endswith("3"):
            raise RuntimeError("connection lost")
        return GroupMembers(group, pl.Series([number(int(group.id))], dtype=pl.String))

    with pytest.raises(RuntimeError, match="connection lost"):
        await write_snapshot(tmp_path, [fake_group(i, 1) for i in range(6)], fetch, target=TARGET)
    assert os.listdir(tmp_path) == []


CRASH = """
import asyncio, os, sys
import polars as pl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from pipeline.sinch import Group
from pipeline.snapshot import GroupMembers, write_snapshot

now = datetime(2026, 1, 1, tzinfo=UTC)
groups = [Group(id=f"{i:026d}", name=f"g{i}", size=1, created_at=now, modified_at=now) for i in range(4)]

async def fetch(group):
    if group.id.endswith("3"):
        os._exit(9)  # the process dies mid-write: no cleanup runs
    return GroupMembers(group, pl.Series([f"+44791110000{group.id[-1]}"], dtype=pl.String))

asyncio.run(write_snapshot(Path(sys.argv[1]), groups, fetch, target={}, concurrency=1))
"""


def test_a_crash_mid_write_leaves_no_snapshot_a_reader_would_see(tmp_path: Path) -> None:
    crashed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), str(tmp_path)], check=False
    )
    assert crashed.returncode == 9
    [staging] = tmp_path.iterdir()
    assert staging.name.startswith(".tmp-")
    assert list_snapshots(tmp_path) == []
    with pytest.raises(Exception, match=r"(?i)no such file|expanded paths were empty|not found"):
        pl.scan_parquet(tmp_path / "members").collect()
    glob = (tmp_path / "members" / "*" / "*.parquet").as_posix()
    with pytest.raises(duckdb.IOException, match="No files found"):
        duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall()


async def diffable(server: EmulatorServer, root: Path) -> tuple[Path, Path, dict[str, str]]:
    async with client_for(server) as client:
        keep = await client.create_group(name="keep", members=[number(1), number(2)])
        rename = await client.create_group(name="old name", members=[number(3)])
        gone = await client.create_group(name="gone", members=[number(4)])
        before = (await export_snapshot(client, root, target=TARGET)).path
        await client.update_group(keep.id, add=[number(5)], remove=[number(1)])
        await client.update_group(rename.id, name="new name")
        await client.delete_group(gone.id)
        new = await client.create_group(name="new", members=[number(6)])
        after = (await export_snapshot(client, root, target=TARGET)).path
    return before, after, {"keep": keep.id, "rename": rename.id, "gone": gone.id, "new": new.id}


async def test_diff_reports_group_and_member_changes(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    before, after, ids = await diffable(live_emulator, tmp_path / "snaps")
    assert [s.path for s in latest_snapshots(tmp_path / "snaps")] == [before, after]
    result = diff_snapshots(open_snapshot(before), open_snapshot(after))
    table = {
        row["key"]: (row["status"], row["added"], row["removed"], row["unchanged"])
        for row in result.groups.iter_rows(named=True)
    }
    assert table == {
        ids["keep"]: ("changed", 1, 1, 1),
        ids["rename"]: ("renamed", 0, 0, 1),
        ids["gone"]: ("deleted", 0, 1, 0),
        ids["new"]: ("created", 1, 0, 0),
    }
    assert result.status_counts() == {"changed": 1, "created": 1, "deleted": 1, "renamed": 1}
    changes = {
        (r["group_name"], r["phone_e164"], r["change"])
        for r in result.changes.iter_rows(named=True)
    }
    assert changes == {
        ("keep", number(5), "added"),
        ("keep", number(1), "removed"),
        ("gone", number(4), "removed"),
        ("new", number(6), "added"),
    }
    written = result.write_changes(tmp_path / "out" / "changes.parquet")
    assert pl.read_parquet(written).sort("phone_e164").equals(result.changes.sort("phone_e164"))
    assert read_file_metadata(written)["kind"] == "member_changes"

    by_name = diff_snapshots(open_snapshot(before), open_snapshot(after), match_on=MatchOn.NAME)
    statuses = dict(by_name.groups.select("key", "status").iter_rows())
    assert statuses == {
        "keep": "changed",
        "old name": "deleted",
        "new name": "created",
        "gone": "deleted",
        "new": "created",
    }


def test_open_snapshot_refuses_other_paths(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="is not a snapshot"):
        open_snapshot(tmp_path)
    with pytest.raises(SnapshotError, match="holds 0 snapshot"):
        latest_snapshots(tmp_path)


async def restore_from_snapshot(server: EmulatorServer, snapshot: Path, mapping: Path) -> None:
    """Recreate a snapshot's groups on the plan it came from (a restore is a migrate into a wiped plan)."""
    async with client_for(server) as client:
        source = SnapshotSource(open_snapshot(snapshot))
        store = MappingFile.open(mapping, source=source.description, destination=TARGET)
        for step in await plan_migration(source, client, store):
            await migrate_group(step, source, client, store)


async def test_export_wipe_restore_export_round_trips(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    await seed_hostile(live_emulator)
    original = await members_by_name(live_emulator)
    first = (await export(live_emulator, tmp_path / "snaps")).path

    async with httpx.AsyncClient() as http:
        (await http.post(f"{live_emulator.base_url}/_emulator/reset")).raise_for_status()
    assert await members_by_name(live_emulator) == {}
    await restore_from_snapshot(live_emulator, first, tmp_path / "mapping.parquet")
    assert await members_by_name(live_emulator) == original

    second = (await export(live_emulator, tmp_path / "snaps")).path
    result = diff_snapshots(open_snapshot(first), open_snapshot(second), match_on=MatchOn.NAME)
    named = result.groups.filter(pl.col("key").str.len_chars() <= 20)  # unnamed ones pair by id
    assert set(named["status"]) == {"unchanged"}
    assert named.height == len(HOSTILE_NAMES) + 2
    assert result.changes["group_name"].null_count() == result.changes.height == 4
    restored = open_snapshot(second).groups().sort("name")
    parent = restored.row(by_predicate=pl.col("name") == "parent", named=True)
    children = restored.filter(pl.col("id").is_in(parent["child_groups"]))["name"].sort().to_list()
    assert children == ["CON", "a/b"]
    assert parent["auto_update_remove_second_word"] == "NOW"


async def test_fetch_group_rereads_the_group(live_emulator: EmulatorServer) -> None:
    async with client_for(live_emulator) as client:
        group = await client.create_group(name="g", members=[number(1)])
        await client.update_group(group.id, add=[number(2)])
        fetched = await fetch_group(client, group)
    assert (fetched.group.size, sorted(fetched.members)) == (2, [number(1), number(2)])


def test_staging_unfinished_and_misnamed_folders_are_ignored_by_the_listing(
    tmp_path: Path,
) -> None:
    (tmp_path / ".tmp-abc" / "groups" / "snapshot_at=2026-01-01T00:00:00.000Z").mkdir(parents=True)
    (tmp_path / "groups" / "snapshot_at=garbage").mkdir(parents=True)
    (tmp_path / "groups" / "snapshot_at=2026-01-02T00:00:00.000Z").mkdir()  # no groups.parquet
    (tmp_path / "snapshot_at=garbage").mkdir()
    assert list_snapshots(tmp_path) == []


async def test_the_next_export_removes_a_crashed_exports_members_partition(
    tmp_path: Path,
) -> None:
    """A crash between the two renames leaves a members partition without its groups partition:
    invisible to `list`, and removed by the next export once it is old enough not to be another
    export's, so that a reader of DIR/members stops seeing it."""

    async def fetch(group: Group) -> GroupMembers:
        return GroupMembers(group, pl.Series([number(1)], dtype=pl.String))

    crashed = await write_snapshot(tmp_path, [fake_group(1, 1)], fetch, target=TARGET)
    shutil.rmtree(crashed.groups_path.parent)
    assert list_snapshots(tmp_path) == []
    later = crashed.taken_at + ORPHAN_AGE + timedelta(seconds=1)
    kept = await write_snapshot(tmp_path, [fake_group(1, 1)], fetch, target=TARGET, taken_at=later)
    assert not crashed.path.exists()
    assert [s.path for s in list_snapshots(tmp_path)] == [kept.path]
    young = kept.taken_at + timedelta(seconds=1)
    shutil.rmtree(kept.groups_path.parent)
    await write_snapshot(tmp_path, [fake_group(1, 1)], fetch, target=TARGET, taken_at=young)
    assert kept.path.exists()  # too young: maybe another export between its two renames


async def test_an_output_path_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")

    async def fetch(group: Group) -> GroupMembers:
        raise AssertionError("nothing is fetched")

    with pytest.raises(SnapshotError, match=f"cannot write a snapshot into {blocker}: File exists"):
        await write_snapshot(blocker, [fake_group(1, 0)], fetch, target=TARGET)
