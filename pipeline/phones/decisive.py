"""How many leading digits decide a metadata pattern's verdict, once a number's length is known.

phonenumbers' patterns are mostly a tree of prefixes followed by "any digits" (`7(?:[1-57-9]\\d\\d
|624)\\d{6}`): on digit strings of one length, whether the pattern matches depends on the first few
digits only. `plan_checks.classify` uses that to test each distinct (country code, leading
digits, length) once instead of each number: a CRM export's numbers share far fewer such prefixes
than they are numbers.

The depth is worked out from the pattern's parse (`re._parser`, the parser `re` itself uses), on
the subset `plans` admits (digits, digit classes, groups, alternation, bounded or unbounded
repeats, anchors). An element is "free" when it accepts any digits of the lengths it allows (`[0-9]`,
`[0-9]{2,3}`, groups and alternations of such); the verdict is decided by the elements up to the
last one that is not free, and within that one, recursively, by its own decisive part. A repeat of
a non-free element counts whole, and an unbounded one leaves the depth unknown (None): the caller
then keeps every digit.
"""

from __future__ import annotations

import re._parser as sre_parse
from collections.abc import Sequence
from functools import cache
from re._constants import (
    AT,
    BRANCH,
    IN,
    LITERAL,
    MAX_REPEAT,
    MAXREPEAT,
    MIN_REPEAT,
    RANGE,
    SUBPATTERN,
)
from typing import Any

__all__ = ["first_digits", "full_match_depth", "prefix_depth"]

_DIGITS = frozenset(range(ord("0"), ord("9") + 1))

Items = Sequence[tuple[Any, Any]]


@cache
def full_match_depth(pattern: str) -> int | None:
    """Leading digits that decide `pattern` as a whole-string test on digit strings of a given
    length; None if unbounded."""
    return _decisive(sre_parse.parse(pattern))


@cache
def prefix_depth(pattern: str) -> int | None:
    """Leading digits that decide `pattern` as a prefix test (its longest match); None if
    unbounded."""
    return _max_length(sre_parse.parse(pattern))


@cache
def first_digits(pattern: str) -> frozenset[str] | None:
    """The digits a match of `pattern` can start with; None if it can match the empty string, or
    holds something this module does not read (then any digit may start a match)."""
    first = _first(sre_parse.parse(pattern))
    if first is None or first[1]:
        return None
    return frozenset(chr(code) for code in first[0])


def _first(items: Items) -> tuple[set[int], bool] | None:
    """The characters a match of the elements can start with, and whether it can be empty; None
    where unsure. Anchors count as consuming nothing, which can only widen the answer."""
    chars: set[int] = set()
    for op, av in items:
        if op is AT:
            continue
        if op is LITERAL:
            return chars | {av}, False
        if op is IN:
            members = _class(av)
            return (chars | members, False) if members else None
        if op is SUBPATTERN:
            parts = [_first(av[3])]
        elif op is BRANCH:
            parts = [_first(branch) for branch in av[1]]
        elif op in (MAX_REPEAT, MIN_REPEAT):
            body = _first(av[2])
            parts = [None if body is None else (body[0], body[1] or av[0] == 0)]
        else:
            return None
        known = [part for part in parts if part is not None]
        if len(known) < len(parts):
            return None
        chars = chars.union(*(part_chars for part_chars, _ in known))
        if not any(empty for _, empty in known):
            return chars, False
    return chars, True


def _decisive(items: Items) -> int | None:
    """A match decided by the first `before + depth` digits: the elements before the last one that
    is not free (at most `before` digits), and that element's own decisive part."""
    items = list(items)
    fixed = [index for index, item in enumerate(items) if not _free([item])]
    if not fixed:
        return 0
    last = fixed[-1]
    before = _max_length(items[:last])
    op, av = items[last]
    if op is SUBPATTERN:
        depth = _decisive(av[3])
    elif op is BRANCH:
        depths = [_decisive(branch) for branch in av[1]]
        depth = None if None in depths else max(d for d in depths if d is not None)
    else:
        depth = _max_length([items[last]])
    return None if before is None or depth is None else before + depth


def _free(items: Items) -> bool:
    """Whether the elements accept any digits, whatever they are, of the lengths they allow."""
    for op, av in items:
        if op is LITERAL:
            return False
        if op is IN and not _class(av) >= _DIGITS:
            return False
        if op is SUBPATTERN and not _free(av[3]):
            return False
        if op is BRANCH and not all(_free(branch) for branch in av[1]):
            return False
        if op in (MAX_REPEAT, MIN_REPEAT) and not _free(av[2]):
            return False
        if op not in (AT, IN, SUBPATTERN, BRANCH, MAX_REPEAT, MIN_REPEAT):
            return False
    return True


def _class(av: Items) -> set[int]:
    chars: set[int] = set()
    for op, value in av:
        if op is LITERAL:
            chars.add(value)
        elif op is RANGE:
            chars.update(range(value[0], value[1] + 1))
        else:  # `plans` admits digits and ranges only; anything else counts as not free
            return set()
    return chars


def _max_length(items: Items) -> int | None:
    """The most digits the elements can consume; None if unbounded."""
    total = 0
    for op, av in items:
        if op is AT:
            continue
        if op in (LITERAL, IN):
            length: int | None = 1
        elif op is SUBPATTERN:
            length = _max_length(av[3])
        elif op is BRANCH:
            lengths = [_max_length(branch) for branch in av[1]]
            length = None if None in lengths else max(n for n in lengths if n is not None)
        elif op in (MAX_REPEAT, MIN_REPEAT):
            body = _max_length(av[2])
            length = None if av[1] is MAXREPEAT or body is None else av[1] * body
        else:
            return None  # outside the subset `plans` admits: no bound claimed
        if length is None:
            return None
        total += length
    return total
