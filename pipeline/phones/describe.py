"""Where valid numbers are and what kind they are: the enrichment a group snapshot carries.

A snapshot holds millions of numbers, and the numbers of one group share long prefixes (a block
bought from one operator, consecutive ranges). So numbers are described by block first: all the
numbers of one length that differ only in their last few digits get the description phonenumbers
gives one of them, when it provably answers alike for every number of the block (`_uniform`);
each block is proven and described once a process. The numbers no such block covers are described
all at once by `numbering`, and by phonenumbers where `numbering` leaves them undecided.

Why a block can be proven uniform: for a value `+` and digits read without a region, phonenumbers'
region and number type depend on the number only through its first three digits (the country
code), its length, and yes/no tests of its national number against the metadata patterns of the
code's regions (every pattern a `plans.Plan` holds but the international dialling prefix, which
a `+` number skips): `parse` strips a national prefix only if that pattern matches, and
`region_code_for_number` and `number_type` are pattern and length tests. If no member of a block
matches the national prefix and every other pattern matches all of the block's members or none,
every answer is the same for all of them. Both halves are decided on one string per block, the
free digits written `X`, against a copy of each pattern that lets `X` through where any digit may
be (`_widen`): the pattern matches every member if its strict copy (only the atoms taking every
digit take `X`) matches, and no member if its loose copy (every digit atom takes `X`) does not.
Anything else (a pattern outside `plans`' subset, a region without a plan, a block both tests
leave open) keeps its numbers on the number-by-number path.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import phonenumbers
import polars as pl
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException, PhoneNumberType

from pipeline.phones import numbering
from pipeline.phones.country_codes import CODE_OF_PREFIX
from pipeline.phones.plan_checks import classify
from pipeline.phones.plans import plan_for

__all__ = ["FREE_DIGITS", "describe_each", "describe_numbers"]

FREE_DIGITS = (6, 4, 2)
"""How many trailing digits a block leaves free, widest first: a number takes the widest block
proven uniform. Most types' patterns end in four to seven free digits."""

_MIN_BLOCK_SIZE = 64
"""A width is tried only if its blocks hold this many numbers on average: proving a block and
describing it with phonenumbers takes up to 90 µs (NANPA's 25 regions), what describing about 60
numbers at once takes."""

_DECIDED = "__decided"
"""A working column: false where the vectorized reading leaves the number to phonenumbers."""
_NUMBER, _BLOCK, _TAKEN, _DONE, _REST = "__number", "__block", "__taken", "__done", "__rest"
_OUTPUT = {"region": pl.String, "number_type": pl.String}
_ENGINE = "in-memory"
"""The engine of the queries here: on frames already in memory polars' streaming engine, its
default, takes two to three times as long for the joins."""


def describe_numbers(e164: pl.Series, *, _vectorized: bool = True) -> pl.DataFrame:
    """One row per distinct number: `phone_e164`, `region` (the number's country), `number_type`.

    For enrichment (the export shows where numbers are and what kind they are), so the cost is
    paid once per block or distinct number however often each repeats; with `_vectorized=False`
    phonenumbers describes every distinct number itself (the reference the tests compare with).
    """
    distinct = e164.drop_nulls().unique(maintain_order=True).cast(pl.String).alias("phone_e164")
    if not _vectorized:
        return _describe_slowly(distinct)
    return pl.concat([distinct.to_frame(), describe_each(distinct)], how="horizontal")


def describe_each(e164: pl.Series) -> pl.DataFrame:
    """`region` and `number_type` of every value, in the values' order (null for a null).

    `describe_numbers` without the distinct step, for callers that hold the numbers in the order
    they write them: the answers need no join back onto the numbers. A width of blocks costs one
    polars query (`_by_block`), as each call from a worker thread waits for the GIL while the
    event loop runs: numbers that share their blocks take two.
    """
    phone = pl.col("phone_e164")
    frame = pl.LazyFrame([e164.cast(pl.String).alias("phone_e164")]).with_columns(
        pl.when(phone.str.contains(r"^\+[1-9][0-9]{2,17}$"))
        .then(phone.cast(pl.UInt64, strict=False))  # polars reads the `+` as a sign
        .alias(_NUMBER),
        *(pl.lit(None, dtype).alias(name) for name, dtype in _OUTPUT.items()),
        pl.lit(False).alias(_DONE),
    )
    for free in (*FREE_DIGITS, None):
        described, frame = _by_block(frame, free)
        if described is not None:
            return described
    rest = frame.filter(~pl.col(_DONE) & phone.is_not_null()).collect(engine=_ENGINE)
    answers = _describe_distinct(rest.get_column("phone_e164").unique(maintain_order=True))
    return (
        frame.join(answers.lazy(), on="phone_e164", how="left", maintain_order="left", suffix=_REST)
        .select(
            pl.when(_DONE).then(name).otherwise(f"{name}{_REST}").alias(name) for name in _OUTPUT
        )
        .collect(engine=_ENGINE)
    )


def _by_block(frame: pl.LazyFrame, free: int | None) -> tuple[pl.DataFrame | None, pl.LazyFrame]:
    """Describe the numbers not yet described by their block of `free` free digits, where that
    block is uniform: only numbers with three fixed digits at least (the country code), and only
    if their blocks hold `_MIN_BLOCK_SIZE` numbers on average. Returns the answers if every
    number is described by then (with `free` None, only that is looked at), else the frame."""
    pending = ~pl.col(_DONE) & pl.col("phone_e164").is_not_null()
    scale = 10 ** (free or 0)
    block = (pl.col(_NUMBER) // scale).alias(_BLOCK)
    open_rows = pending & (pl.col(_NUMBER) >= 100 * scale)
    counts = frame.select(
        pending.sum().alias("left"),
        open_rows.sum().alias("rows"),
        block.filter(open_rows).unique().implode(),
    )
    data, found = pl.collect_all([frame, counts], engine=_ENGINE)
    left, rows, keys = found.row(0)
    if not left:
        return data.select(*_OUTPUT), frame
    if free is None or len(keys) * _MIN_BLOCK_SIZE > rows:
        return None, data.lazy()
    uniform = [(key, *answer) for key in keys if (answer := _block_answer(key, free))]
    if not uniform:
        return None, data.lazy()
    answers = pl.LazyFrame(
        uniform,
        schema={_BLOCK: pl.UInt64, **{f"{name}{_BLOCK}": dtype for name, dtype in _OUTPUT.items()}},
        orient="row",
    ).with_columns(pl.lit(True).alias(_TAKEN))
    taken = open_rows & pl.col(_TAKEN).fill_null(False)
    return None, (
        data.lazy()
        .with_columns(block)
        .join(answers, on=_BLOCK, how="left", maintain_order="left")
        .select(
            "phone_e164",
            _NUMBER,
            *(
                pl.when(taken).then(f"{name}{_BLOCK}").otherwise(name).alias(name)
                for name in _OUTPUT
            ),
            (pl.col(_DONE) | taken).alias(_DONE),
        )
    )


@lru_cache(maxsize=1 << 16)
def _block_answer(block: int, free: int) -> tuple[str | None, str | None] | None:
    """(region, number type) of every number of the block (its fixed digits, `free` digits
    after them), or None if they may differ: phonenumbers' answer for one of them, once a
    process (a snapshot's batches and groups share their blocks)."""
    if not _uniform(str(block), free):
        return None
    return _describe(f"+{block}{'0' * free}")


def _uniform(fixed: str, free: int) -> bool:
    """Whether phonenumbers answers alike for every number of a block, as the module docstring
    explains."""
    code = CODE_OF_PREFIX[int(fixed[:3])]  # a block has three fixed digits at least
    tests = None if code is None else _block_tests(code)
    if tests is None:
        return False
    prefixes, patterns = tests
    national = fixed[len(str(code)) :] + "X" * free
    return not any(loose.match(national) for loose in prefixes) and all(
        strict.match(national) or not loose.match(national) for strict, loose in patterns
    )


@cache
def _block_tests(
    code: int,
) -> tuple[list[re.Pattern[str]], list[tuple[re.Pattern[str], ...]]] | None:
    """(loose copies of the national prefixes, which must not match; (strict, loose) copies of
    every other pattern phonenumbers tests a `+` number of `code` with), or None if one of the
    code's regions has no plan or a pattern `_widen` cannot read."""
    prefixes: list[str] = []
    patterns: list[str] = []
    for region in COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        plan = plan_for(code, region)
        if plan is None:
            return None
        patterns += plan.number_patterns
        if plan.leading_digits is not None:
            patterns.append(plan.leading_digits)
        if plan.national_prefix is not None:
            prefixes.append(plan.national_prefix.pattern)
    loose = [_widen(pattern, strict=False) for pattern in prefixes]
    pairs = [(_widen(pattern, strict=True), _widen(pattern, strict=False)) for pattern in patterns]
    if None in loose or any(None in pair for pair in pairs):
        return None
    return (
        [re.compile(pattern) for pattern in loose],  # type: ignore[arg-type]
        [tuple(re.compile(pattern) for pattern in pair) for pair in pairs],  # type: ignore[arg-type]
    )


_ATOM = re.compile(r"\{\d+(?:,\d*)?\}|\[(?:\d(?:-\d)?)+\]|\d|\(\?:|[()|?*+^$]")
"""The tokens of a `plans` pattern: quantifiers (whose digits are counts), digit classes, digits,
groups, alternation, anchors."""
_EVERY_DIGIT = frozenset("0123456789")


def _widen(pattern: str, *, strict: bool) -> str | None:
    """The pattern with `X` allowed where a digit is: strict, only by atoms taking every digit;
    loose, by every digit atom. None if the pattern holds a token outside `plans`' subset."""
    atoms = []
    position = 0
    while position < len(pattern):
        token = _ATOM.match(pattern, position)
        if token is None:
            return None
        text = token.group()
        position = token.end()
        if text[0] == "[":
            every = _class_digits(text[1:-1]) == _EVERY_DIGIT
            text = text[:-1] + "X]" if every or not strict else text
        elif text.isdigit():
            text = text if strict else f"[{text}X]"
        atoms.append(text)
    return "".join(atoms)


def _class_digits(members: str) -> frozenset[str]:
    """The digits a class's members (`0-46-9`) take."""
    ranges = re.findall(r"(\d)(?:-(\d))?", members)
    return frozenset(
        str(digit) for low, high in ranges for digit in range(int(low), int(high or low) + 1)
    )


# --- number by number ---------------------------------------------------------------------------


def _describe_distinct(distinct: pl.Series) -> pl.DataFrame:
    """`describe_numbers` of distinct values: `numbering` for all, phonenumbers where it cannot."""
    distinct = distinct.alias("phone_e164")
    described = _describe_vectorized(distinct)
    undecided = described.filter(~pl.col(_DECIDED)).get_column("phone_e164")
    slow = _describe_slowly(undecided)
    return described.update(slow, on="phone_e164", include_nulls=True).select(
        "phone_e164", *_OUTPUT
    )


def _describe_slowly(distinct: pl.Series) -> pl.DataFrame:
    """phonenumbers' answer for each value, one call at a time."""
    return pl.DataFrame(
        [_describe(value) for value in distinct], schema=_OUTPUT, orient="row"
    ).select(distinct.alias("phone_e164"), *_OUTPUT)


_TYPE_NAMES = {kind: PhoneNumberType.to_string(kind) for kind in PhoneNumberType.values()}


def _describe_vectorized(e164: pl.Series) -> pl.DataFrame:
    """`_describe` for every number at once, with `_DECIDED` false where `numbering` cannot."""
    parsed = numbering.parse(e164, pl.repeat(None, e164.len(), dtype=pl.String, eager=True))
    kinds = classify(
        parsed.get_column(numbering.COUNTRY_CODE), parsed.get_column(numbering.NATIONAL_NUMBER)
    )
    failed = pl.col(numbering.ERROR).is_not_null()
    return pl.concat([e164.to_frame(), parsed, kinds], how="horizontal").select(
        "phone_e164",
        pl.when(~failed).then(numbering.REGION).alias("region"),
        pl.when(~failed)
        .then(pl.col(numbering.NUMBER_TYPE).replace_strict(_TYPE_NAMES, default=None))
        .alias("number_type"),
        (failed | pl.col(numbering.NUMBER_TYPE).is_not_null()).alias(_DECIDED),
    )


def _describe(e164: str) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None, None
    kind = PhoneNumberType.to_string(phonenumbers.number_type(number))
    return phonenumbers.region_code_for_number(number), kind
