"""End to end: the sync flow against the emulator over real HTTP (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from flows.sync_groups import sync_groups
from pipeline.sync.engine import NothingValidError
from pipeline.sync.groups import AmbiguousGroupError, InvalidGroupNameError
from pipeline.sync.options import SyncOptionsError
from pipeline.sync.plan import Mode, RemovalGuardError
from tests.live import members_by_name, memberships, seed_group


def number(i: int) -> str:
    """A valid UK mobile number; distinct for each i < 100,000."""
    return f"+4479111{i:05d}"


def national(i: int) -> str:
    """The same number as a British user would type it."""
    digits = f"79111{i:05d}"
    return f"0{digits[:4]} {digits[4:]}"


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    pl.DataFrame(
        rows, schema={k: pl.String for k in rows[0]} if rows else {"phone": pl.String}
    ).write_csv(path)
    return path


def assert_counts_add_up(report) -> None:
    assert report.rows_read == report.rows_valid + report.rows_rejected
    assert sum(report.rejected_by_reason.values()) == report.rows_rejected


async def test_add_creates_the_group_and_a_rerun_changes_nothing(
    sinch_env, tmp_path, prefect_harness
):
    source = write_csv(
        tmp_path / "contacts.csv",
        [{"phone": number(i)} for i in range(50)]
        + [{"phone": national(0)}, {"phone": "not a phone"}, {"phone": ""}],
    )
    report = await sync_groups(source=str(source), group="Newsletter", default_region="GB")
    assert_counts_add_up(report)
    assert (report.rows_read, report.rows_valid, report.rows_rejected, report.duplicates) == (
        53,
        51,
        2,
        1,
    )
    assert report.rejected_by_reason == {"not_a_number": 1, "empty": 1}
    [group] = report.groups
    assert (group.created, group.added, group.final_size, group.verified) == (True, 50, 50, True)
    assert await members_by_name(sinch_env) == {"Newsletter": {number(i) for i in range(50)}}

    again = await sync_groups(source=str(source), group="Newsletter", default_region="GB")
    [group] = again.groups
    assert (group.created, group.to_add, group.added, group.unchanged) == (False, 0, 0, 50)
    saved = json.loads(Path(again.report_path).read_text())
    assert saved["groups"][0]["final_size"] == 50
    rejects = pl.read_parquet(again.rejects_path)
    assert sorted(rejects["reason"].to_list()) == ["empty", "not_a_number"]
    assert rejects["source_line"].to_list() == sorted(rejects["source_line"].to_list())


async def test_mirror_removes_what_the_file_no_longer_lists(sinch_env, tmp_path, prefect_harness):
    await seed_group(sinch_env, "VIP", [number(i) for i in range(100)])
    source = write_csv(tmp_path / "vip.csv", [{"mobile": number(i)} for i in range(5, 105)])
    report = await sync_groups(source=str(source), group="VIP", mode=Mode.MIRROR)
    [group] = report.groups
    assert (group.to_add, group.to_remove, group.final_size, group.verified) == (5, 5, 100, True)
    assert (await members_by_name(sinch_env))["VIP"] == {number(i) for i in range(5, 105)}


async def test_guard_refuses_a_truncated_mirror_before_writing_any_group(
    sinch_env, tmp_path, prefect_harness
):
    await seed_group(sinch_env, "A", [number(i) for i in range(100)])
    await seed_group(sinch_env, "B", [number(i) for i in range(100, 200)])
    rows = (
        [{"phone": number(i), "segment": "A"} for i in range(0, 100)]
        + [{"phone": number(i), "segment": "B"} for i in range(100, 150)]
        + [{"phone": number(500), "segment": "A"}]
    )
    source = write_csv(tmp_path / "segments.csv", rows)
    before = await members_by_name(sinch_env)
    with pytest.raises(RemovalGuardError, match="'B' would lose 50 of 100 members"):
        await sync_groups(source=str(source), group_column="segment", mode=Mode.MIRROR)
    assert await members_by_name(sinch_env) == before

    forced = await sync_groups(
        source=str(source), group_column="segment", mode=Mode.MIRROR, force=True
    )
    assert {g.key: g.final_size for g in forced.groups} == {"A": 101, "B": 50}


async def test_remove_mode_takes_listed_numbers_out(sinch_env, tmp_path, prefect_harness):
    await seed_group(sinch_env, "Promo", [number(i) for i in range(20)])
    source = write_csv(tmp_path / "optout.csv", [{"msisdn": national(i)} for i in range(15, 25)])
    report = await sync_groups(
        source=str(source), group="Promo", mode=Mode.REMOVE, default_region="GB"
    )
    [group] = report.groups
    assert (group.removed, group.unchanged, group.final_size) == (5, 5, 15)
    assert (await members_by_name(sinch_env))["Promo"] == {number(i) for i in range(15)}


async def test_dry_run_writes_the_plan_and_changes_nothing(sinch_env, tmp_path, prefect_harness):
    group_id = await seed_group(sinch_env, "Promo", [number(i) for i in range(10)])
    source = write_csv(tmp_path / "c.csv", [{"phone": number(i)} for i in range(5, 30)])
    report = await sync_groups(
        source=str(source), group_id=group_id, mode=Mode.MIRROR, dry_run=True, force=True
    )
    [group] = report.groups
    assert (group.current, group.to_add, group.to_remove, group.added) == (10, 20, 5, 0)
    assert json.loads(Path(report.report_path).read_text())["dry_run"] is True
    assert (await members_by_name(sinch_env))["Promo"] == {number(i) for i in range(10)}
    dry_new = await sync_groups(source=str(source), group="Brand new", dry_run=True)
    assert dry_new.groups[0].created is True
    assert set(await members_by_name(sinch_env)) == {"Promo"}


async def test_multi_group_file_syncs_each_group(sinch_env, tmp_path, prefect_harness):
    rows = [{"phone": number(i), "segment": "gold" if i % 2 else "silver"} for i in range(40)]
    rows += [{"phone": number(1), "segment": "silver"}, {"phone": number(2), "segment": ""}]
    source = write_csv(tmp_path / "multi.csv", rows)
    report = await sync_groups(source=str(source), group_column="segment")
    assert_counts_add_up(report)
    assert report.rejected_by_reason == {"no_group": 1}
    state = await members_by_name(sinch_env)
    assert state["gold"] == {number(i) for i in range(40) if i % 2}
    assert state["silver"] == {number(i) for i in range(40) if not i % 2} | {number(1)}


async def test_suppression_applies_in_every_mode_even_with_an_empty_input(
    sinch_env, tmp_path, prefect_harness
):
    await seed_group(sinch_env, "News", [number(i) for i in range(10)])
    optout = write_csv(tmp_path / "optout.csv", [{"phone": national(3)}, {"phone": number(50)}])
    source = write_csv(tmp_path / "c.csv", [{"phone": number(50)}, {"phone": number(51)}])
    report = await sync_groups(
        source=str(source), group="News", suppress=[str(optout)], default_region="GB"
    )
    [group] = report.groups
    assert (group.suppressed_skipped, group.suppressed_removed, group.added) == (1, 1, 1)
    assert report.suppressed == 2
    state = (await members_by_name(sinch_env))["News"]
    assert state == {number(i) for i in range(10) if i != 3} | {number(51)}

    empty = tmp_path / "empty.csv"
    empty.write_text("phone\n")
    others = [number(i) for i in range(100, 110)]
    await seed_group(sinch_env, "Other", [*others, number(3)])
    with pytest.raises(NothingValidError, match="has a header but no rows"):
        await sync_groups(source=str(empty), group="Other", suppress=[str(optout)])
    # --allow-empty: an empty input still applies the suppressions
    report = await sync_groups(
        source=str(empty),
        group="Other",
        suppress=[str(optout)],
        default_region="GB",
        allow_empty=True,
    )
    assert report.rows_read == 0
    assert report.groups[0].suppressed_removed == 1
    assert (await members_by_name(sinch_env))["Other"] == set(others)

    await seed_group(sinch_env, "Mirror", [*others, number(3)])
    complete = write_csv(tmp_path / "complete.csv", [{"phone": n} for n in [*others, number(3)]])
    report = await sync_groups(
        source=str(complete),
        group="Mirror",
        mode=Mode.MIRROR,
        suppress=[str(optout)],
        default_region="GB",
        max_remove_fraction=0.0,
    )
    assert report.groups[0].suppressed_removed == 1, "suppression is not blocked by the guard"
    assert (await members_by_name(sinch_env))["Mirror"] == set(others)


async def test_a_number_the_api_refuses_is_isolated_and_the_rest_applied(
    live_emulator, sinch_env, tmp_path, prefect_harness
):
    import httpx

    refused = number(7)
    httpx.put(
        f"{live_emulator.base_url}/_emulator/faults", json={"refuse_numbers": [refused]}
    ).raise_for_status()
    source = write_csv(tmp_path / "c.csv", [{"phone": number(i)} for i in range(1000)])
    report = await sync_groups(source=str(source), group="Refusals", chunk_size=250)
    assert_counts_add_up(report)
    [group] = report.groups
    assert (group.added, group.api_rejected, group.final_size, group.verified) == (
        999,
        1,
        999,
        True,
    )
    assert report.rejected_by_reason == {"api_rejected": 1}
    rejects = pl.read_parquet(report.rejects_path)
    assert rejects.row(0, named=True)["raw_value"] == refused
    assert rejects.row(0, named=True)["source_line"] == 9
    assert (await members_by_name(sinch_env))["Refusals"] == {number(i) for i in range(1000)} - {
        refused
    }


async def test_names_are_checked_before_anything_is_written(sinch_env, tmp_path, prefect_harness):
    source = write_csv(
        tmp_path / "c.csv",
        [{"phone": number(1), "segment": "x" * 21}, {"phone": number(2), "segment": "ok"}],
    )
    with pytest.raises(InvalidGroupNameError, match="1 to 20 characters"):
        await sync_groups(source=str(source), group_column="segment")
    await seed_group(sinch_env, "twin", [])
    await seed_group(sinch_env, "twin", [])
    with pytest.raises(AmbiguousGroupError, match="matches 2 groups"):
        await sync_groups(source=str(source), group="twin")
    with pytest.raises(SyncOptionsError):
        await sync_groups(source=str(source), group="a", group_column="segment")
    assert [name for name, _, _ in await memberships(sinch_env)] == ["twin", "twin"]
