"""Benchmark `normalize()`, with and without its vectorized reading, against the obvious per-row
loop, on messy, duplicated numbers.

    .venv/bin/python bench/bench_normalize.py                  # 1,000,000 rows
    .venv/bin/python bench/bench_normalize.py --rows 200000 --distinct 0.6 --baseline-rows 20000

The data imitates a CRM export: people from six countries, each spelled in about three of the
ways real files spell numbers (E.164, international, national with a country column, 00, `(0)`,
dashes, Excel's float cast, `tel:`), a few percent damaged (scientific notation, truncated,
placeholder text, extensions), and rows repeated until `--distinct` of them are distinct.

`normalize()` runs twice: as it ships, where `pipeline.numbering` decides the numbering plan for
all distinct values at once in polars, and with `_vectorized=False`, where phonenumbers reads each
distinct (value, region) pair in Python (the code path before the vectorized reading). The two
results must be identical, frame for frame; the benchmark checks that too.

The per-row baseline is what one writes first: `phonenumbers.parse` + `is_valid_number` +
`format_number` for every row in a Python loop. It does less than `normalize` (no Excel or
extension rules, no reasons, no schema check) and is still far slower, because the cost is the
numbering plan lookups and it pays them per row instead of per distinct value. It is timed on a
subsample and scaled to the full row count.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from polars.testing import assert_frame_equal

from pipeline.phones import NormalizeResult, normalize
from pipeline.sources import RAW_SCHEMA

# (region, share of people); every region but the US writes national numbers with a trunk 0.
REGIONS = [("GB", 0.5), ("US", 0.15), ("DE", 0.1), ("FR", 0.1), ("SE", 0.08), ("AU", 0.07)]
SPELLINGS_PER_PERSON = 3
GOOD_FORMATS = 8
DAMAGED_SHARE = 0.04
DEFAULT_REGION = "GB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=float, default=0.6, help="share of distinct raw values")
    parser.add_argument("--baseline-rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    frame = messy_contacts(args.rows, args.distinct, np.random.default_rng(args.seed))
    print(
        f"generated {frame.height:,} rows in {time.perf_counter() - started:.1f} s; "
        f"{frame.get_column('phone_raw').n_unique():,} distinct raw values"
    )

    with _Timer() as vectorized:
        result = normalize(frame, default_region=DEFAULT_REGION)
    print(
        f"normalize(), vectorized:   {vectorized.report(frame.height, frame.height)}\n"
        f"    {result.valid_count:,} valid, {result.rejected_count:,} rejected; "
        f"{result.distinct_values:,} distinct (value, region) pairs, "
        f"{result.distinct_parsed:,} of them left to phonenumbers\n"
        f"    rejects by reason: {result.by_reason}"
    )

    with _Timer() as per_pair:
        reference = normalize(frame, default_region=DEFAULT_REGION, _vectorized=False)
    print(
        f"normalize(), phonenumbers: {per_pair.report(frame.height, frame.height)}\n"
        f"    every one of the {reference.distinct_parsed:,} pairs read by phonenumbers; "
        f"same output: {_same(result, reference)}"
    )

    sample = frame.sample(min(args.baseline_rows, frame.height), seed=args.seed)
    with _Timer() as naive:
        naive_valid = naive_normalize(sample)
    print(
        f"per-row loop:              {naive.report(sample.height, frame.height)}\n"
        f"    timed on {sample.height:,} sampled rows ({naive_valid:,} valid), "
        f"scaled to {frame.height:,}"
    )
    for label, other, rows in (
        ("phonenumbers per pair", per_pair, frame.height),
        ("per-row loop", naive, sample.height),
    ):
        wall = (other.wall / rows) / (vectorized.wall / frame.height)
        cpu = (other.cpu / rows) / (vectorized.cpu / frame.height)
        print(f"speed-up over {label}: {wall:.1f}x wall-clock, {cpu:.1f}x CPU time")


def _same(result: NormalizeResult, reference: NormalizeResult) -> str:
    """Say "yes", or what differs: the vectorized reading must not change any output."""
    try:
        assert_frame_equal(result.valid, reference.valid)
        assert_frame_equal(result.rejects, reference.rejects)
    except AssertionError as difference:
        return f"NO: {difference}"
    return "yes"


class _Timer:
    """Wall-clock and CPU time: on a shared machine the CPU time is the steadier of the two."""

    def __enter__(self) -> _Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu

    def report(self, timed_rows: int, total_rows: int) -> str:
        scale = total_rows / timed_rows
        return (
            f"{self.wall * scale:6.1f} s wall ({timed_rows / self.wall:>9,.0f} rows/s), "
            f"{self.cpu * scale:6.1f} s CPU ({timed_rows / self.cpu:>9,.0f} rows/s)"
        )


def messy_contacts(rows: int, distinct: float, rng: np.random.Generator) -> pl.DataFrame:
    """A raw contacts frame: `distinct * rows` distinct spellings, repeated up to `rows`."""
    slots = _spellings(max(1, int(rows * distinct)), rng)
    repeats = rng.integers(0, slots.height, rows - slots.height)
    order = rng.permutation(np.concatenate([np.arange(slots.height), repeats]))
    picked = slots[order]
    return pl.DataFrame(
        {
            "source_file": pl.repeat("bench.csv", rows, eager=True),
            "source_line": pl.int_range(2, rows + 2, eager=True),
            "phone_raw": picked.get_column("phone_raw"),
            "region_raw": picked.get_column("region_raw"),
            "group": pl.repeat(None, rows, dtype=pl.String, eager=True),
        },
        schema=RAW_SCHEMA,
    )


def _spellings(count: int, rng: np.random.Generator) -> pl.DataFrame:
    """`count` spellings: people drawn per region, each written in distinct formats."""
    people = _people(-(-count // SPELLINGS_PER_PERSON), rng)
    formats = np.argsort(rng.random((people.height, GOOD_FORMATS)), axis=1)[
        :, :SPELLINGS_PER_PERSON
    ]
    damaged = rng.random(formats.shape) < DAMAGED_SHARE
    formats = np.where(damaged, GOOD_FORMATS + rng.integers(0, 4, formats.shape), formats)
    slots = people[np.repeat(np.arange(people.height), SPELLINGS_PER_PERSON)].with_columns(
        pl.Series("format", formats.ravel())
    )[:count]
    # GB people often have an empty country cell: the default region applies to them.
    blank_country = (pl.col("region") == DEFAULT_REGION) & pl.Series(rng.random(count) < 0.5)
    return slots.select(
        _spell().alias("phone_raw"),
        pl.when(blank_country).then(None).otherwise(pl.col("region")).alias("region_raw"),
    )


def _people(count: int, rng: np.random.Generator) -> pl.DataFrame:
    """Distinct people near each region's example mobile number (last six digits random)."""
    regions = [region for region, _ in REGIONS]
    weights = np.array([share for _, share in REGIONS])
    drawn = rng.choice(len(regions), size=count, p=weights / weights.sum())
    frames = []
    for index, region in enumerate(regions):
        example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
        assert example is not None
        stem = str(example.national_number)[:-6]
        size = int((drawn == index).sum())
        tails = rng.choice(1_000_000, size=size, replace=False)
        frames.append(
            pl.DataFrame(
                {
                    "region": pl.repeat(region, size, eager=True),
                    "cc": pl.repeat(str(example.country_code), size, eager=True),
                    "trunk": pl.repeat("1" if region == "US" else "0", size, eager=True),
                    "nsn": [f"{stem}{tail:06d}" for tail in tails],
                }
            )
        )
    return pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))


def _spell() -> pl.Expr:
    """The phone cell for each (person, format); formats 8 and up are damaged."""
    cc, nsn, trunk = pl.col("cc"), pl.col("nsn"), pl.col("trunk")
    head, tail = nsn.str.slice(0, 4), nsn.str.slice(4)
    digits = cc + nsn
    spellings = [
        "+" + digits,
        "+" + cc + " " + head + " " + tail,
        trunk + head + " " + tail,
        "00" + cc + " " + head + " " + tail,
        pl.when(trunk == "0").then("+" + cc + " (0)" + nsn).otherwise("+" + cc + " " + nsn),
        trunk + nsn.str.slice(0, 3) + "-" + nsn.str.slice(3, 3) + "-" + nsn.str.slice(6),
        digits + ".0",
        "tel:+" + cc + "-" + head + "-" + tail,
        digits.str.slice(0, 1)
        + "."
        + digits.str.slice(1, 5)
        + "E+"
        + (digits.str.len_chars() - 1).cast(pl.String),
        trunk + nsn.str.slice(0, 5),
        pl.lit("n/a"),
        "+" + digits + " ext. 12",
    ]
    return pl.coalesce(
        *(pl.when(pl.col("format") == number).then(s) for number, s in enumerate(spellings))
    )


def naive_normalize(frame: pl.DataFrame) -> int:
    """The per-row loop normalize() replaces; returns how many numbers it found valid."""
    valid = 0
    for value, region in frame.select("phone_raw", "region_raw").iter_rows():
        try:
            number = phonenumbers.parse(value, region or DEFAULT_REGION)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            phonenumbers.format_number(number, PhoneNumberFormat.E164)
            valid += 1
    return valid


if __name__ == "__main__":
    main()
