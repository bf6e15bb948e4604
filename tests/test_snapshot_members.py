"""The member rows of a snapshot batch: each of `MembersSnapshot`'s checks still fails the export
where the whole-frame validation would, though most run on one row per group; a failed batch
leaves no snapshot behind, and a batch being written when a fetch fails is finished first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from pandera.errors import SchemaError
from polars.testing import assert_frame_equal

from pipeline.sinch import Group
from pipeline.snapshot import GroupMembers, members_frame, write_snapshot
from pipeline.snapshot import members as snapshot_members
from pipeline.snapshot import write as snapshot_write
from pipeline.snapshot.members import validate_members
from pipeline.snapshot.schemas import MembersSnapshot

TARGET = {"base_url": "http://127.0.0.1"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def group(index: int, name: str | None = None) -> Group:
    return Group(id=f"{index:026d}", name=name, size=2, created_at=NOW, modified_at=NOW)


def item(index: int, *numbers: str) -> GroupMembers:
    return GroupMembers(group(index, f"g{index}"), pl.Series("phone_e164", numbers, pl.String))


def test_a_clean_batch_passes_as_the_whole_frame_does() -> None:
    items = [
        item(1, "+447400123457", "+447400123456"),
        item(2),
        item(3, "+447400123456", "+12015550123"),
    ]
    frame = members_frame(items)

    validate_members(frame, items)
    MembersSnapshot.validate(frame)
    assert frame.get_column("phone_e164").to_list() == [
        "+447400123456",
        "+447400123457",
        "+12015550123",
        "+447400123456",
    ]


def test_every_check_of_the_model_runs_in_the_one_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model's checks are all translated (else pandera would validate every batch), and a
    clean batch never reaches pandera."""
    assert snapshot_members._CHECKS is not None
    checked = {name for name, _ in snapshot_members._CHECKS}
    assert checked == {
        name
        for name, column in MembersSnapshot.to_schema().columns.items()
        if column.checks or not column.nullable
    }
    items = [item(1, "+447400123456"), item(2, "+447400123456", "+12015550123")]
    frame = members_frame(items)

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("pandera ran on a clean batch")

    monkeypatch.setattr(MembersSnapshot, "validate", refuse)
    validate_members(frame, items)


@pytest.mark.parametrize(
    ("items", "failing"),
    [
        ([item(1, "+447400123456", "+447400123456")], "phone_e164"),  # a member listed twice
        ([item(1, "+447400123456"), item(1, "+447400123456")], "phone_e164"),  # a group twice
        ([item(1, "+447400123456", "447400123457")], "phone_e164"),  # no `+`
        ([item(1, "+447400123456"), item(2, "+0123")], "phone_e164"),  # not E.164
    ],
    ids=["repeated member", "repeated group", "no plus", "leading zero"],
)
def test_each_check_fails_where_the_whole_frame_fails(
    items: list[GroupMembers], failing: str
) -> None:
    frame = members_frame(items)

    with pytest.raises(SchemaError, match=failing):
        MembersSnapshot.validate(frame)
    with pytest.raises(SchemaError, match=failing):
        validate_members(frame, items)


def test_a_bad_group_id_fails_on_its_first_row() -> None:
    bad = GroupMembers(
        Group.model_construct(id="not-an-id", name=None, size=1, created_at=NOW, modified_at=NOW),
        pl.Series("phone_e164", ["+447400123456"]),
    )
    items = [item(1, "+447400123456"), bad]

    with pytest.raises(SchemaError, match="group_id"):
        validate_members(members_frame(items), items)


def test_a_batch_is_written_while_the_next_groups_are_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_write, "ENRICH_BATCH", 2)
    numbers = {index: [f"+4474001234{index:02d}", f"+4474001235{index:02d}"] for index in range(6)}

    async def fetch(wanted: Group) -> GroupMembers:
        await asyncio.sleep(0)
        return item(int(wanted.id), *numbers[int(wanted.id)])

    result = asyncio.run(
        write_snapshot(tmp_path, [group(i) for i in numbers], fetch, target=TARGET)
    )

    written = pl.read_parquet(result.members_path)
    expected = members_frame([item(i, *numbers[i]) for i in numbers])
    assert_frame_equal(written, expected)
    assert result.members == 12


def test_a_failed_fetch_waits_for_the_batch_being_written_then_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_write, "ENRICH_BATCH", 1)

    async def fetch(wanted: Group) -> GroupMembers:
        if wanted.id == group(3).id:
            raise RuntimeError("the connection dropped")
        return item(int(wanted.id), "+447400123456")

    with pytest.raises(RuntimeError, match="dropped"):
        asyncio.run(write_snapshot(tmp_path, [group(i) for i in range(5)], fetch, target=TARGET))
    assert list(tmp_path.iterdir()) == []


def test_a_bad_batch_fails_the_export_and_leaves_nothing(tmp_path: Path) -> None:
    async def fetch(wanted: Group) -> GroupMembers:
        return item(int(wanted.id), "+447400123456", "+447400123456")

    with pytest.raises(SchemaError):
        asyncio.run(write_snapshot(tmp_path, [group(1)], fetch, target=TARGET))
    assert list(tmp_path.iterdir()) == []
