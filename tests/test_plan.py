"""Plan arithmetic: for any current/desired/suppressed sets, applying the plan yields the mode's set."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sync.plan import (
    Mode,
    RemovalGuardError,
    check_removal_guard,
    plan_group,
    reject_rows_without_group,
)


def number(i: int) -> str:
    """E.164 for 0..40; above that, the same digits as 21..40 behind a `0`: odd values a live
    group could hold, equal to a real number once read as an integer (the diff's fast key)."""
    return f"+4479111{i:05d}" if i <= 40 else f"+04479111{i - 20:05d}"


NUMBERS = st.sets(st.integers(min_value=0, max_value=48).map(number), max_size=30)


def series(values: set[str] | list[str]) -> pl.Series:
    return pl.Series("phone_e164", sorted(values), dtype=pl.String)


def applied(current: set[str], add: pl.Series, remove: pl.Series) -> set[str]:
    """What the Sinch update semantics make of the plan: adds first, then removes."""
    return (current | set(add.to_list())) - set(remove.to_list())


def expected_for(
    mode: Mode, current: set[str], desired: set[str], suppressed: set[str]
) -> set[str]:
    if mode is Mode.ADD:
        return (current | desired) - suppressed
    if mode is Mode.MIRROR:
        return desired - suppressed
    return current - desired - suppressed


def counts_for(
    mode: Mode, current: set[str], desired: set[str], suppressed: set[str]
) -> dict[str, int]:
    """The report's counts, from the sets: (unchanged, suppressed_skipped, suppressed_removals)."""
    if mode is Mode.REMOVE:
        return {
            "unchanged": len(desired - current),
            "suppressed_skipped": 0,
            "suppressed_removals": len((current & suppressed) - desired),
        }
    return {
        "unchanged": len((desired & current) - suppressed),
        "suppressed_skipped": len((desired - current) & suppressed),
        "suppressed_removals": len(current & suppressed),
    }


@settings(max_examples=300, deadline=None)
@given(
    current=NUMBERS,
    desired=st.lists(st.integers(min_value=0, max_value=48), max_size=40),
    suppressed=NUMBERS,
    mode=st.sampled_from(list(Mode)),
    data=st.data(),
)
def test_applying_the_plan_yields_exactly_the_desired_set(current, desired, suppressed, mode, data):
    desired_rows = [number(i) for i in desired]  # with repeats, in file order
    live = data.draw(st.permutations(sorted(current)))  # the API's order is its own
    plan = plan_group(
        key="g",
        group_id=None,
        name="g",
        current=pl.Series("phone_e164", live, dtype=pl.String),
        desired=pl.Series("phone_e164", desired_rows, dtype=pl.String),
        suppressed=series(suppressed),
        mode=mode,
    )
    wanted = set(desired_rows)
    want = expected_for(mode, current, wanted, suppressed)
    assert applied(current, plan.add, plan.remove) == want
    assert sorted(plan.expected.to_list()) == sorted(want)
    assert plan.final_size == len(want)
    assert plan.current_size == len(current)
    assert plan.add.to_list() == sorted(set(plan.add.to_list())), "distinct and sorted"
    assert plan.remove.to_list() == sorted(set(plan.remove.to_list())), "distinct and sorted"
    counts = {name: getattr(plan, name) for name in counts_for(mode, current, wanted, suppressed)}
    assert counts == counts_for(mode, current, wanted, suppressed)
    assert not set(plan.add.to_list()) & current, "never re-adds a member"
    assert set(plan.remove.to_list()) <= current, "never removes a non-member"
    assert plan.guarded_removals >= 0


@settings(max_examples=200, deadline=None)
@given(current=NUMBERS, desired=NUMBERS, suppressed=NUMBERS)
def test_guard_counts_only_removals_caused_by_a_shorter_input(current, desired, suppressed):
    plan = plan_group(
        key="g",
        group_id="01J00000000000000000000000",
        name="g",
        current=series(current),
        desired=series(desired),
        suppressed=series(suppressed),
        mode=Mode.MIRROR,
    )
    assert plan.guarded_removals == len(current - desired - suppressed)
    assert plan.suppressed_removals == len(current & suppressed)


def test_add_mode_removes_suppressed_members_only():
    plan = plan_group(
        key="g",
        group_id=None,
        name="g",
        current=series({"+1", "+2"}),
        desired=series({"+3"}),
        suppressed=series({"+2", "+3"}),
        mode=Mode.ADD,
    )
    assert plan.add.to_list() == []
    assert plan.remove.to_list() == ["+2"]
    assert plan.suppressed_skipped == 1
    assert plan.suppressed_removals == 1


def test_numbers_with_the_same_digits_in_other_shapes_stay_distinct():
    """The joins compare integers only when every value is `+` and digits without a leading 0."""
    plan = plan_group(
        key="g",
        group_id="01FC66621VHDBN119Z8PMV1QPQ",
        name="g",
        current=series({"+447911123456", "+0447911123456"}),
        desired=series({"+447911123456", "+15551231234"}),
        suppressed=series(set()),
        mode=Mode.MIRROR,
    )
    assert plan.add.to_list() == ["+15551231234"]
    assert plan.remove.to_list() == ["+0447911123456"]
    assert plan.unchanged == 1


def test_duplicates_in_the_desired_input_collapse():
    plan = plan_group(
        key="g",
        group_id=None,
        name="g",
        current=series(set()),
        desired=pl.Series(["+1", "+1", "+2"]),
        suppressed=series(set()),
        mode=Mode.ADD,
    )
    assert plan.add.to_list() == ["+1", "+2"]


def _mirror(current: int, keep: int, suppressed: int = 0):
    members = [f"+4479111{i:05d}" for i in range(current)]
    return plan_group(
        key="news",
        group_id="01J00000000000000000000000",
        name="news",
        current=series(members),
        desired=series(members[:keep]),
        suppressed=series(members[keep : keep + suppressed]),
        mode=Mode.MIRROR,
    )


def test_guard_trips_when_mirror_would_remove_more_than_the_fraction():
    plan = _mirror(current=100, keep=89)
    with pytest.raises(RemovalGuardError) as caught:
        check_removal_guard([plan], max_remove_fraction=0.10)
    assert "'news' would lose 11 of 100 members (allowed 10)" in str(caught.value)
    assert "--force" in str(caught.value)


def test_guard_allows_removals_up_to_the_fraction_and_force_overrides():
    check_removal_guard([_mirror(current=100, keep=90)], max_remove_fraction=0.10)
    check_removal_guard([_mirror(current=100, keep=0)], max_remove_fraction=0.10, force=True)


def test_suppression_removals_never_trip_the_guard():
    plan = _mirror(current=100, keep=50, suppressed=50)
    assert plan.remove.len() == 50
    check_removal_guard([plan], max_remove_fraction=0.0)


def test_guard_ignores_add_and_remove_modes():
    members = series({f"+4479111{i:05d}" for i in range(10)})
    plan = plan_group(
        key="g",
        group_id="01J00000000000000000000000",
        name="g",
        current=members,
        desired=members,
        suppressed=series(set()),
        mode=Mode.REMOVE,
    )
    assert plan.remove.len() == 10
    check_removal_guard([plan], max_remove_fraction=0.0)


@settings(max_examples=200, deadline=None)
@given(
    current=NUMBERS,
    desired=st.sets(st.integers(min_value=0, max_value=40), max_size=30),
    suppressed=NUMBERS,
    mode=st.sampled_from(list(Mode)),
)
def test_desired_numbers_given_as_digits_plan_as_their_text_does(
    current, desired, suppressed, mode
):
    """A sync hands the plan each group's numbers as the integers it keeps them in
    (`normalized.Numbers`): the plan must be the one their text gives, also when an odd live
    member makes every side compare text."""
    text = series({number(i) for i in desired})
    plans = [
        plan_group(
            key="g",
            group_id=None,
            name="g",
            current=series(current),
            desired=wanted,
            suppressed=series(suppressed),
            mode=mode,
        )
        for wanted in (text, text.str.slice(1).cast(pl.UInt64))
    ]
    for field in ("add", "remove", "joined", "current"):
        assert getattr(plans[1], field).to_list() == getattr(plans[0], field).to_list(), field
    for count in ("unchanged", "suppressed_skipped", "suppressed_removals", "final_size"):
        assert getattr(plans[1], count) == getattr(plans[0], count), count


def test_rows_without_a_group_become_no_group_rejects():
    valid = pl.DataFrame(
        {
            "source_file": ["f.csv"] * 3,
            "source_line": [2, 3, 4],
            "phone_raw": ["07911 123456", "x", "y"],
            "region_raw": [None, None, None],
            "group": ["vip", None, "  "],
            "region": ["GB", "GB", "GB"],
            "phone_e164": ["+447911123456", "+447911123457", "+447911123458"],
        }
    )
    kept, rejected = reject_rows_without_group(valid)
    assert kept["source_line"].to_list() == [2]
    assert rejected["source_line"].to_list() == [3, 4]
    assert set(rejected["reason"]) == {"no_group"}
