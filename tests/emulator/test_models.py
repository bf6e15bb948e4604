"""The rules without HTTP: GroupsModel over a Store, checked against a plain Python set."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinch_emulator.entities import UNSET, GroupChanges, GroupSpec
from sinch_emulator.exceptions import (
    ConstraintViolationError,
    InvalidMsisdnError,
    NotFoundError,
    UnknownGroupError,
)
from sinch_emulator.models import GroupsModel
from sinch_emulator.store import Store

from .helpers import FakeClock

PLAN = "plan"
POOL = [f"1201888{index:04d}" for index in range(12)]

numbers = st.lists(st.sampled_from(POOL), max_size=8)


@pytest.fixture
def model() -> GroupsModel:
    return GroupsModel(Store(), clock=FakeClock())


def test_a_rejected_create_writes_nothing(model: GroupsModel) -> None:
    with pytest.raises(InvalidMsisdnError):
        model.create_group(PLAN, GroupSpec(name="x", members=["+12018881111", "+1"]))

    assert model.list_groups(PLAN).count == 0


def test_a_rejected_update_writes_nothing(model: GroupsModel) -> None:
    group = model.create_group(PLAN, GroupSpec(name="x", members=["+12018881111"]))

    with pytest.raises(UnknownGroupError):
        model.update_group(
            PLAN,
            group.id,
            GroupChanges(add=["+12018882222"], name=None, remove_from_group="missing"),
        )

    assert model.get_group(PLAN, group.id) == group
    assert model.list_members(PLAN, group.id) == ["12018881111"]


def test_checks_run_in_the_documented_order(model: GroupsModel) -> None:
    """Body values (400) before the group in the path (404) before referenced groups (403)."""
    with pytest.raises(ConstraintViolationError):
        model.update_group(PLAN, "missing", GroupChanges(name="n" * 21))
    with pytest.raises(NotFoundError):
        model.update_group(PLAN, "missing", GroupChanges(add_from_group="also-missing"))


def test_namespaces_are_separate(model: GroupsModel) -> None:
    group = model.create_group(PLAN, GroupSpec())

    with pytest.raises(NotFoundError):
        model.get_group("other", group.id)
    with pytest.raises(UnknownGroupError):
        model.create_group("other", GroupSpec(child_groups=[group.id]))


def test_refused_numbers_follow_the_attribute(model: GroupsModel) -> None:
    model.refused_numbers = frozenset({"12018881111"})
    with pytest.raises(InvalidMsisdnError):
        model.create_group(PLAN, GroupSpec(members=["+1 201 888 1111"]))

    model.refused_numbers = frozenset()
    assert model.create_group(PLAN, GroupSpec(members=["+1 201 888 1111"])).size == 1


@settings(max_examples=60, deadline=None)
@given(
    initial=numbers,
    other=numbers,
    steps=st.lists(st.tuples(numbers, numbers, st.booleans(), st.booleans()), max_size=5),
)
def test_size_and_members_match_set_semantics(
    initial: list[str], other: list[str], steps: list[tuple[list[str], list[str], bool, bool]]
) -> None:
    model = GroupsModel(Store(), clock=FakeClock())
    source = model.create_group(PLAN, GroupSpec(members=other))
    group = model.create_group(PLAN, GroupSpec(members=initial))
    expected = set(initial)

    for add, remove, add_source, remove_source in steps:
        group = model.update_group(
            PLAN,
            group.id,
            GroupChanges(
                add=add,
                remove=remove,
                name=UNSET,
                add_from_group=source.id if add_source else None,
                remove_from_group=source.id if remove_source else None,
            ),
        )
        expected = (expected | set(add) | (set(other) if add_source else set())) - set(remove)
        expected -= set(other) if remove_source else set()

        assert group.size == len(expected)
        assert model.list_members(PLAN, group.id) == sorted(expected)
