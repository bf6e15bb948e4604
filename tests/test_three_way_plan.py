"""The three-way plan's arithmetic, as a property over every mode: whatever the file, the live
group, the suppressions, the leaves and the joins, the plan's sets follow the rules of the
three-way sync, written here once more as plain Python sets."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sync.options import Mode
from pipeline.sync.plan import plan_group

NUMBERS = [f"+4479111{i:05d}" for i in range(12)]
some = st.lists(st.sampled_from(NUMBERS), max_size=14)  # lists: the file has duplicates


def series(numbers: list[str] | set[str]) -> pl.Series:
    return pl.Series(
        "phone_e164", sorted(numbers) if isinstance(numbers, set) else numbers, dtype=pl.String
    )


@st.composite
def situations(draw: st.DrawFn) -> dict[str, object]:
    current = set(draw(some))
    return {
        "current": current,
        "desired": draw(some),
        "suppressed": set(draw(some)),
        "left": set(draw(some)),  # the ledger may name a live member (added back once)
        "joined": set(draw(some)) & current,  # joins are live by definition
        "mode": draw(st.sampled_from(list(Mode))),
        "readd_left": draw(st.booleans()),
        "strict": draw(st.booleans()),
    }


@settings(max_examples=400, deadline=None)
@given(situations())
def test_the_three_way_plan_obeys_its_rules_in_every_mode(case: dict[str, object]) -> None:
    current, desired = case["current"], set(case["desired"])
    suppressed, left, joined = case["suppressed"], case["left"], case["joined"]
    mode, readd_left = case["mode"], case["readd_left"]
    strict = case["strict"] and mode is Mode.MIRROR
    plan = plan_group(
        key="g",
        group_id="01ABC",
        name="g",
        current=series(current),
        desired=series(case["desired"]),
        suppressed=series(suppressed),
        mode=mode,
        left=series(left),
        readd_left=readd_left,
        joined=series(joined),
        strict=strict,
    )
    add, remove = set(plan.add.to_list()), set(plan.remove.to_list())
    assert (plan.add.len(), plan.remove.len()) == (len(add), len(remove)), "none sent twice"
    assert not add & remove, "no number both added and removed"
    assert not add & current
    assert remove <= current
    assert not add & suppressed
    if not readd_left:
        assert not add & left, "nothing the ledger or a leave holds is ever added"
    if not strict:
        assert remove & joined <= suppressed | (desired if mode is Mode.REMOVE else set()), (
            "without --strict a joined member goes only when suppressed (or listed for removal)"
        )

    final = (current | add) - remove
    assert plan.final_size == len(current) + len(add) - len(remove) == len(final)
    wanted = desired - suppressed
    gone = set() if readd_left else left
    if mode is Mode.REMOVE:
        assert final == current - desired - suppressed
    elif mode is Mode.ADD:
        assert final == (current - suppressed) | (wanted - gone)
    else:
        kept = set() if strict else (joined - suppressed)
        assert final == (wanted & current) | (wanted - gone) | kept
        assert plan.joined_removed == (len(joined - desired - suppressed) if strict else 0)

    if mode is not Mode.REMOVE:
        returning = len((wanted - current) & left)
        assert (plan.left_skipped, plan.readded) == (
            (0, returning) if readd_left else (returning, 0)
        )
