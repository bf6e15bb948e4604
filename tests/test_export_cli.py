"""`sinch-groups export`, `diff` and `migrate`: exit codes, error text, and the restore round trip."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import polars as pl
import pytest
from click.testing import Result
from test_snapshots import HOSTILE_NAMES, number, seed_hostile
from typer.testing import CliRunner

from flows.cli import app
from pipeline.snapshot import (
    Layout,
    MatchOn,
    diff_snapshots,
    export_snapshot,
    list_snapshots,
    partition_name,
)
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorServer
from tests.live import client_for, members_by_name

runner = CliRunner()
LEGACY = Path(__file__).parent / "fixtures" / "legacy_snapshots"
"""Two snapshots written by sinch-groups 0.1 in its one-folder-per-snapshot layout."""


pytestmark = pytest.mark.usefixtures("wide_console")


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), terminal_width=250)


def error_line(result: Result) -> str:
    assert "Traceback" not in result.output
    return [line for line in result.output.splitlines() if line.strip()][-1]


def test_export_wipe_sync_export_round_trips_memberships(
    sinch_env: EmulatorServer, prefect_harness: str, tmp_path: Path
) -> None:
    asyncio.run(seed_hostile(sinch_env))
    original = asyncio.run(members_by_name(sinch_env))
    exported = invoke("export", "--out", "snaps", "--no-progress")
    assert exported.exit_code == 0, exported.output
    [first] = list_snapshots(tmp_path / "snaps")
    assert f"Snapshot {partition_name(first.taken_at)}: 10 groups, 31 members" in exported.output
    assert f"  members: {first.members_path.relative_to(tmp_path)}\n" in exported.output
    assert f"  groups:  {first.groups_path.relative_to(tmp_path)}\n" in exported.output

    httpx.post(f"{sinch_env.base_url}/_emulator/reset").raise_for_status()
    restored = invoke(
        "sync",
        str(first.members_path),
        "--group-column",
        "group_name",
        "--mode",
        "mirror",
        "--no-progress",
    )
    assert restored.exit_code == 0, restored.output
    named = {name: members for name, members in original.items() if name and members}
    assert (
        asyncio.run(members_by_name(sinch_env)) == named
    )  # sync restores memberships of named groups

    assert invoke("export", "--out", "snaps", "--no-progress").exit_code == 0
    before, after = list_snapshots(tmp_path / "snaps")
    diff = diff_snapshots(before, after, match_on=MatchOn.NAME)
    kept = diff.groups.filter(pl.col("name_before").is_in(list(named)))
    assert kept.height == len(HOSTILE_NAMES) + 1
    assert set(kept["status"]) == {"unchanged"}

    compared = invoke("diff", "snaps", "--match-on", "name")
    assert compared.exit_code == 0, compared.output
    assert "unchanged" in compared.output


def test_export_of_an_unknown_group_is_one_line_and_exit_1(
    sinch_env: EmulatorServer, prefect_harness: str
) -> None:
    result = invoke("export", "--out", "snaps", "--group", "nope", "--no-progress")
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: no such group on this service plan: 'nope'; `sinch-groups groups` lists the ones that exist"
    )
    assert not Path("snaps").exists() or list_snapshots(Path("snaps")) == []


def test_migrate_between_plans_and_again_changes_nothing(
    sinch_env: EmulatorServer, prefect_harness: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asyncio.run(seed_hostile(sinch_env))
    monkeypatch.setenv("OLD_SERVICE_PLAN_ID", DEFAULT_PLAN_ID)
    monkeypatch.setenv("OLD_API_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("OLD_BASE_URL", sinch_env.base_url)
    monkeypatch.setenv("NEW_SERVICE_PLAN_ID", "secondplan")
    monkeypatch.setenv("NEW_API_TOKEN", "second-token")
    monkeypatch.setenv("NEW_BASE_URL", sinch_env.base_url)

    first = invoke("migrate", "--from-env", "OLD_", "--to-env", "NEW_", "--no-progress")
    assert first.exit_code == 0, first.output
    mapping = tmp_path / "sinch-groups-migrations" / f"{DEFAULT_PLAN_ID}--to--secondplan.parquet"
    assert f"Groups: 10 create. Mapping: {mapping.relative_to(tmp_path)}" in first.output
    assert pl.read_parquet(mapping).height == 10

    again = invoke("migrate", "--from-env", "OLD_", "--to-env", "NEW_", "--no-progress")
    assert again.exit_code == 0, again.output
    assert "Groups: 10 already-migrated." in again.output
    destination = client_for(sinch_env, "secondplan", "second-token")

    async def count() -> int:
        async with destination as client:
            return len([g async for g in client.iter_groups()])

    assert asyncio.run(count()) == 10


def test_migrate_needs_exactly_one_source() -> None:
    result = invoke("migrate", "--to-env", "NEW_")
    assert result.exit_code == 1
    assert (
        error_line(result)
        == "Error: name exactly one source: --from-env PREFIX or --from-snapshot PATH"
    )


def test_diff_prints_changes_and_writes_them(live_emulator: EmulatorServer, tmp_path: Path) -> None:
    async def two_snapshots() -> None:
        async with client_for(live_emulator) as client:
            group = await client.create_group(name="vip", members=[number(1), number(2)])
            await export_snapshot(client, tmp_path, target={})
            await client.update_group(group.id, add=[number(3)], remove=[number(1)], name="VIP")
            await export_snapshot(client, tmp_path, target={})

    asyncio.run(two_snapshots())
    first, second = list_snapshots(tmp_path)
    out = tmp_path / "changes.parquet"
    result = invoke(
        "diff", str(first.groups_path.parent), str(second.members_path), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "vip -> VIP" in result.output
    assert "renamed" in result.output
    assert "Groups: 1 renamed. Members: +1 -1." in result.output
    changes = pl.read_parquet(out)
    assert sorted(changes.select("phone_e164", "change").rows()) == [
        (number(1), "removed"),
        (number(3), "added"),
    ]


def test_diff_of_something_that_is_not_a_snapshot_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = invoke("diff", str(tmp_path), str(tmp_path))
    assert result.exit_code == 1
    assert error_line(result).startswith(f"Error: {tmp_path} is not a snapshot")
    alone = invoke("diff", str(tmp_path))
    assert alone.exit_code == 1
    assert error_line(alone) == f"Error: {tmp_path} holds 0 snapshot(s); 2 are needed"


def test_a_legacy_dataset_is_listed_compared_and_upgraded(tmp_path: Path) -> None:
    """Snapshots written by 0.1 (one folder per snapshot) stay usable, and `snapshots upgrade`
    moves them into the members/ and groups/ datasets."""
    dataset = tmp_path / "old"
    shutil.copytree(LEGACY, dataset)
    listed = invoke("snapshots", "list", str(dataset))
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("│ legacy │") == 2
    assert "2 in the legacy layout: `sinch-groups snapshots upgrade" in listed.output
    before = invoke("diff", str(dataset), "--match-on", "name")
    assert before.exit_code == 0, before.output
    assert "Groups: 1 changed, 1 created, 1 deleted. Members: +2 -2." in before.output

    upgraded = invoke("snapshots", "upgrade", str(dataset))
    assert upgraded.exit_code == 0, upgraded.output
    assert "2 snapshot(s) upgraded" in upgraded.output
    assert sorted(p.name for p in dataset.iterdir()) == ["groups", "members"]
    assert [s.layout for s in list_snapshots(dataset)] == [Layout.DATASET, Layout.DATASET]
    after = invoke("diff", str(dataset), "--match-on", "name")
    assert after.output.splitlines()[-1] == before.output.splitlines()[-1]
    assert invoke("snapshots", "upgrade", str(dataset)).output.strip() == (
        f"0 snapshot(s) upgraded in {dataset}"
    )


def test_a_legacy_snapshot_restores_with_sync(sinch_env: EmulatorServer, tmp_path: Path) -> None:
    """The 0.1 layout's members.parquet is a sync input as it was: a restore re-creates groups."""
    [_, newer] = sorted(LEGACY.glob("snapshot_at=*"))
    restored = invoke(
        "sync",
        str(newer / "members.parquet"),
        "--group-column",
        "group_name",
        "--mode",
        "mirror",
        "--no-progress",
    )
    assert restored.exit_code == 0, restored.output
    assert asyncio.run(members_by_name(sinch_env)) == {
        "keep": {"+447911100002", "+447911100005"},
        "new": {"+12015550123"},
    }
