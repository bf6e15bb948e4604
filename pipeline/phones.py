"""Normalize raw phone numbers to E.164, or say exactly why a number cannot be used.

The work is split by what it needs. Cleaning (Unicode folding, `tel:`, separators, Excel's float
and scientific damage, an exit code spelled as `+`, the reject reasons that follow from the text
alone) is vectorized polars string work. Whatever needs the numbering plan (country codes, trunk
prefixes, number ranges, number types) is read once per distinct (cleaned value, region) pair, and
the answers go back to the rows by position: exports repeat numbers, in several spellings, and a
distinct pair costs far more to read than a row costs to clean.

Reading a value without `+`: as a national number of the row's region first (the country column,
else the default region); if that is not a valid number, as an international number that lost its
`+` (Excel's `447911123456.0`, or `00` from a country whose exit code is not 00). Without any
region, the international reading is the only one.

phonenumbers costs about 50 µs a number, and a large export has hundreds of thousands of distinct
numbers. So the pairs are first read all at once by `pipeline.numbering`, which runs phonenumbers'
own metadata patterns as polars expressions and gives exactly phonenumbers' answers where it
answers at all; only the pairs it leaves undecided (rare spellings, a few regions' rewriting
rules) go to phonenumbers one by one (`pipeline._reader`, over every core when there are many).
Until the rejects file is written, a rejected row carries one integer, its verdict; the reason and
the detail are written once per distinct verdict.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberType, ValidationResult

from pipeline import _reader, numbering
from pipeline.errors import InvalidRegionError
from pipeline.rejects import REJECTS_SCHEMA, Reason
from pipeline.schemas import Contacts, validate_lazily

__all__ = [
    "MOBILE_TYPES",
    "NormalizeResult",
    "Reason",
    "count_duplicates",
    "describe_numbers",
    "normalize",
]

MOBILE_TYPES = _reader.MOBILE_TYPES

_SUPPORTED_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
# The exit codes phonenumbers reads as a plain prefix (`00`, `011`, `810`, ...); see `_clean`.
_EXIT_CODES = {
    region: prefix
    for region in _SUPPORTED_REGIONS
    if (prefix := PhoneMetadata.metadata_for_region(region).international_prefix).isdigit()
}
_NO_REGION_EXIT_CODE = "00"
_NONZERO_DIGITS = list("123456789")
_THREADS_FROM_KEYS = 100_000
"""Distinct keys per thread below which the vectorized reading runs in one piece (`_in_threads`)."""

# Working columns; the double underscore keeps them clear of whatever columns a caller brings.
_TEXT = "__text"
_CLEAN = "__clean"
_REGION = "__region"
_KEY_REGION = "__key_region"
_BAD_REGION = "__bad_region"
_EXIT_CODE = "__exit_code"
_VERDICT = "__verdict"
_POSITION = "__position"
_FIRST = "__first"
_SLOT = "__slot"
_FOUND = "__found"
_DECIDED = "__decided"
_RETRY = "__retry"  # column prefix: the international reading of a value read in a region first

_TEL_PREFIX = r"(?i)^tel:"
_EXTENSION = r"(?i)(?:;ext=|extension|\bext\.?|x|#)\s*\d+$"
_SCIENTIFIC = r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$"
_FLOAT_CAST = r"^(\d{6,})\.0+$"
_SEPARATORS = [
    *"\t\n\x0b\x0c\r \x85\xa0\u1680",
    *map(chr, range(0x2000, 0x200B)),
    *"\u2028\u2029\u202f\u205f\u3000",
    *".-",
    *map(chr, range(0x2010, 0x2016)),
    *"()[]/'",
]
"""What carries no digits: whitespace (Unicode's White_Space, what `\\s` matches in polars), dots,
hyphens and dashes, brackets, slashes and apostrophes; as single characters, for one
`replace_many` pass, which costs half a regex character class's."""
_DIGITS = r"^\+?\d+$"

# The verdicts (see `pipeline._reader`) of the rules the text alone decides, in the order tried.
_RULE_EMPTY, _RULE_EXTENSION, _RULE_SCIENTIFIC, _RULE_NOT_DIGITS, _RULE_BAD_REGION = range(1, 6)


@dataclass(frozen=True)
class NormalizeResult:
    """Every input row lands in exactly one of `valid` and `rejects`."""

    valid: pl.DataFrame
    """The input columns plus `phone_e164` and `region`: the region national numbers were read
    with (the row's country, else the default region; null if the country was not a code)."""
    rejects: pl.DataFrame
    """`source_file, source_line, raw_value, region, reason, detail` (see `pipeline.rejects`)."""
    distinct_values: int
    """How many distinct (cleaned value, region) pairs the run read: rows that repeat a number,
    even spelled differently, are read once."""
    distinct_parsed: int
    """How many of those went to phonenumbers one by one (the vectorized reading left them
    undecided): the Python cost of the run."""

    @property
    def rows(self) -> int:
        return self.valid.height + self.rejects.height

    @property
    def valid_count(self) -> int:
        return self.valid.height

    @property
    def rejected_count(self) -> int:
        return self.rejects.height

    @property
    def by_reason(self) -> dict[str, int]:
        counts = self.rejects.group_by("reason").len().sort("reason")
        return dict(counts.iter_rows())


_RULE_TEXTS: dict[int, tuple[Reason, str]] = {
    _RULE_EMPTY: (Reason.EMPTY, "the phone cell is empty"),
    _RULE_EXTENSION: (Reason.HAS_EXTENSION, "has an extension, which an SMS cannot reach"),
    _RULE_SCIENTIFIC: (
        Reason.EXCEL_DAMAGED,
        "in scientific notation: a spreadsheet rounded it and the lost digits cannot be "
        "recovered; export the column as text",
    ),
    _RULE_NOT_DIGITS: (
        Reason.NOT_A_NUMBER,
        "holds characters other than digits, a leading '+' and separators",
    ),
    _RULE_BAD_REGION: (
        Reason.INVALID_COUNTRY_CODE,
        "country '{}' is not an ISO 3166 alpha-2 code (such as GB) and the number has no "
        "country code",
    ),
}
"""The rules decided from the text alone; the bad-region detail names the row's country cell."""
_NO_REGION = (
    Reason.INVALID_COUNTRY_CODE,
    "no country code and no region to read it as a national number; "
    "set a default region or a country column",
)
_PARSE_FAILURES: dict[int, tuple[Reason, str]] = {
    NumberParseException.INVALID_COUNTRY_CODE: (
        Reason.INVALID_COUNTRY_CODE,
        "does not start with a country calling code that exists",
    ),
    NumberParseException.NOT_A_NUMBER: (Reason.NOT_A_NUMBER, "cannot be read as a phone number"),
    NumberParseException.TOO_SHORT_AFTER_IDD: (
        Reason.TOO_SHORT,
        "too few digits after the international prefix",
    ),
    NumberParseException.TOO_SHORT_NSN: (Reason.TOO_SHORT, "too few digits for a phone number"),
    NumberParseException.TOO_LONG: (Reason.TOO_LONG, "too many digits for a phone number"),
}
_INVALID: dict[int, tuple[Reason, str]] = {
    ValidationResult.TOO_SHORT: (Reason.TOO_SHORT, "too few digits for a {where} number"),
    ValidationResult.TOO_LONG: (Reason.TOO_LONG, "too many digits for a {where} number"),
    ValidationResult.INVALID_LENGTH: (
        Reason.INVALID_NUMBER,
        "no {where} number has this many digits",
    ),
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: (
        Reason.TOO_SHORT,
        "too few digits for a {where} number (the area code may be missing)",
    ),
    ValidationResult.IS_POSSIBLE: (
        Reason.INVALID_NUMBER,
        "the right length for {where}, but in no range that is in use",
    ),
    ValidationResult.INVALID_COUNTRY_CODE: (
        Reason.INVALID_COUNTRY_CODE,
        "{where} is not a country calling code in use",
    ),
}


def normalize(
    frame: pl.DataFrame,
    *,
    default_region: str | None = None,
    mobile_only: bool = False,
    _vectorized: bool = True,
) -> NormalizeResult:
    """Turn a raw contacts frame (`schemas.RawContacts`) into E.164 numbers and reasoned rejects.

    `default_region` reads national numbers on rows whose country column is empty; `mobile_only`
    rejects numbers phonenumbers types as anything but a mobile (`MOBILE_TYPES`). The valid rows
    pass the `Contacts` model before they are returned, as a last net under the parser.
    `_vectorized=False` sends every pair to phonenumbers one by one: for the tests and the
    benchmark that hold the vectorized reading (`_interpret_vectorized`) to phonenumbers.
    """
    prepared = _prepare(frame, _check_region(default_region))
    # The rows no rule rejected are read, once per distinct key; `slot` is each such row's key.
    candidates = prepared.get_column(_VERDICT).is_null().arg_true()
    keys, slots = _distinct(prepared.select(pl.col(_CLEAN, _KEY_REGION).gather(candidates)))
    outcomes, parsed = _interpret(keys, mobile_only, vectorized=_vectorized)
    slot = pl.repeat(None, frame.height, dtype=pl.UInt32, eager=True).scatter(candidates, slots)
    read = prepared.lazy().with_columns(
        outcomes.get_column("phone_e164").gather(slot),
        pl.coalesce(_VERDICT, outcomes.get_column(_VERDICT).gather(slot)),
    )
    accepted = pl.col("phone_e164").is_not_null()
    valid, rejected = pl.collect_all(
        [
            read.filter(accepted).select(
                *frame.columns, pl.col(_REGION).alias("region"), "phone_e164"
            ),
            read.filter(~accepted).select(
                "source_file", "source_line", "phone_raw", "region_raw", _REGION, _VERDICT
            ),
        ]
    )
    valid, unexpected = validate_lazily(Contacts, valid)
    return NormalizeResult(
        valid=valid,
        rejects=pl.concat([_rejects(rejected), unexpected]),
        distinct_values=keys.height,
        distinct_parsed=parsed,
    )


def count_duplicates(valid: pl.DataFrame, by: Sequence[str] = ("group", "phone_e164")) -> int:
    """Rows that repeat a number already seen within its group (the report's `duplicates`).

    Run on normalized rows, so `07911 123456` and `+44 7911 123456` are recognised as one person.
    The rows themselves stay: the plan works on distinct numbers, and the rejects output only
    holds rows that were not used.
    """
    return valid.height - valid.select(by).unique().height


def describe_numbers(e164: pl.Series, *, _vectorized: bool = True) -> pl.DataFrame:
    """One row per distinct number: `phone_e164`, `region` (the number's country), `number_type`.

    For enrichment (the export shows where numbers are and what kind they are), so the cost is
    paid once per distinct number however often each repeats: `numbering` describes them all at
    once, and phonenumbers the few it leaves undecided (all of them with `_vectorized=False`).
    """
    distinct = e164.drop_nulls().unique(maintain_order=True).cast(pl.String).alias("phone_e164")
    described = (
        _describe_vectorized(distinct)
        if _vectorized
        else distinct.to_frame().with_columns(
            pl.lit(None, dtype=pl.String).alias("region"),
            pl.lit(None, dtype=pl.String).alias("number_type"),
            pl.lit(False).alias(_DECIDED),
        )
    )
    undecided = described.filter(~pl.col(_DECIDED)).get_column("phone_e164")
    slow = pl.DataFrame(
        [_describe(value) for value in undecided],
        schema={"region": pl.String, "number_type": pl.String},
        orient="row",
    ).with_columns(undecided)
    return described.update(slow, on="phone_e164", include_nulls=True).select(
        "phone_e164", "region", "number_type"
    )


def _check_region(region: str | None) -> str | None:
    if region is None:
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidRegionError(
            f"default region {region!r} is not an ISO 3166 alpha-2 code phonenumbers knows "
            "(such as GB, US or DE)"
        )
    return code


def _prepare(frame: pl.DataFrame, default_region: str | None) -> pl.DataFrame:
    """Add the region, the cleaned value, the distinct-key region, and the verdict of the first
    rule the text alone breaks (null if none does)."""
    text = pl.col(_TEXT).str.strip_chars().str.replace(_TEL_PREFIX, "").str.strip_chars()
    # With a country code the region changes nothing, so leaving it out of the key merges rows.
    national = ~pl.col(_CLEAN).str.starts_with("+")
    cells = _regions(frame.get_column("region_raw"), default_region)
    # Each row's cell, as its place among the distinct cells: one hash lookup a row.
    cell = pl.col("region_raw").replace_strict(
        cells.get_column("region_raw"), pl.int_range(cells.height, dtype=pl.UInt32, eager=True)
    )
    # Lazy, so that the expressions the verdict shares with the cleaning run once.
    return (
        frame.with_columns(_nfkc(frame.get_column("phone_raw")).alias(_TEXT))
        .lazy()
        .with_columns(
            pl.lit(cells.get_column(name)).gather(cell).alias(name)
            for name in (_REGION, _BAD_REGION, _EXIT_CODE)
        )
        .with_columns(text.alias(_TEXT))
        .with_columns(_clean(pl.col(_TEXT), pl.col(_EXIT_CODE)).alias(_CLEAN))
        .with_columns(
            pl.when(national).then(pl.col(_REGION)).alias(_KEY_REGION),
            _rule_verdict(pl.col(_TEXT), pl.col(_CLEAN), bad_region=pl.col(_BAD_REGION) & national),
        )
        .drop(_TEXT, _BAD_REGION, _EXIT_CODE)
        .collect()
    )


def _regions(cells: pl.Series, default_region: str | None) -> pl.DataFrame:
    """Per distinct country cell: the region (`_REGION`) it reads national numbers in (the
    default region where the cell is empty, none where it names no region phonenumbers knows),
    whether it is such an unknown code (`_BAD_REGION`), and that region's plain exit code
    (`_EXIT_CODE`, see `_clean`). A file has a handful of distinct cells, not one per row."""
    text = pl.col("region_raw").str.strip_chars().str.to_uppercase()
    given = text.is_not_null() & (text != "")
    known = text.is_in(_SUPPORTED_REGIONS)
    region = pl.col(_REGION)
    return (
        cells.unique()
        .to_frame("region_raw")
        .with_columns(
            pl.when(given & known)
            .then(text)
            .when(~given)
            .then(pl.lit(default_region))
            .cast(pl.String)
            .alias(_REGION),
            (given & ~known).alias(_BAD_REGION),
        )
        .with_columns(
            pl.when(region.is_null())
            .then(pl.lit(_NO_REGION_EXIT_CODE))
            .otherwise(region.replace_strict(_EXIT_CODES, default=None, return_dtype=pl.String))
            .alias(_EXIT_CODE)
        )
    )


def _nfkc(values: pl.Series) -> pl.Series:
    """NFKC-fold (full-width digits and plus, odd spaces) the values that are not plain ASCII.

    ASCII text is NFKC already, and folding every value would cost more than the rest of the
    cleaning together; a value is ASCII exactly when it has as many bytes as characters.
    """
    folded = (values.str.len_bytes() != values.str.len_chars()).arg_true()
    return values.clone().scatter(folded, values.gather(folded).str.normalize("NFKC"))


def _clean(text: pl.Expr, exit_code: pl.Expr) -> pl.Expr:
    """Strip what carries no digits; spell the region's exit code (`00`, `011`, ...) as `+`.

    The `0` of `+44 (0)7400` stays: phonenumbers drops a trunk prefix after a country code where
    it is one (GB, DE, FR) and keeps it where it is part of the number (Italy's `+39 06`).

    Where the region's exit code is a plain digit string, phonenumbers strips it from a value
    that starts with it and is not followed by a 0 (`_parse_prefix_as_idd`), and reads the rest
    exactly as it reads the same digits after `+`. So writing `011 44...` (read in the US) as
    `+44...` is exact, and merges the spellings before the distinct step. Exit codes that are
    patterns (Australia's `0011` among others) are left to phonenumbers. Without a region,
    `00` is taken as the exit code: the international reading is the only one there anyway.
    """
    digits = text.str.replace(_FLOAT_CAST, "$1").str.replace_many(
        _SEPARATORS, [""] * len(_SEPARATORS)
    )
    length = exit_code.str.len_bytes()
    dialled = digits.str.starts_with(exit_code) & digits.str.slice(length, 1).is_in(_NONZERO_DIGITS)
    return pl.when(dialled).then("+" + digits.str.slice(length)).otherwise(digits)


def _rule_verdict(text: pl.Expr, clean: pl.Expr, *, bad_region: pl.Expr) -> pl.Expr:
    """The verdict of the first rule of `_RULE_TEXTS` the text breaks, else null."""
    return (
        pl.when(clean.is_null() | (clean == ""))
        .then(_RULE_EMPTY)
        .when(text.str.contains(_EXTENSION))
        .then(_RULE_EXTENSION)
        .when(text.str.contains(_SCIENTIFIC))
        .then(_RULE_SCIENTIFIC)
        .when(~clean.str.contains(_DIGITS))
        .then(_RULE_NOT_DIGITS)
        .when(bad_region)
        .then(_RULE_BAD_REGION)
        .cast(pl.Int32)
        .alias(_VERDICT)
    )


def _distinct(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """The distinct rows in order of first appearance, and per row the position of its own among
    them.

    What is worked out per distinct row goes back to every row by that position, a gather: a
    join back on the key columns would hash every row a second time, and costs more than a
    million-row file with few repeats saves by reading each value once.
    """
    position = pl.col(_POSITION)
    by = frame.columns
    marked = (
        frame.lazy()
        .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(_POSITION))
        .with_columns(position.min().over(by).alias(_SLOT))
        .with_columns((pl.col(_SLOT) == position).alias(_FIRST))
        .collect()
    )
    first = marked.get_column(_FIRST)
    slots = (first.cum_sum() - 1).gather(marked.get_column(_SLOT))
    return marked.filter(first).select(by), slots


def _interpret(
    keys: pl.DataFrame, mobile_only: bool, *, vectorized: bool
) -> tuple[pl.DataFrame, int]:
    """`phone_e164` and `_VERDICT` per key, in order, and how many keys phonenumbers read.

    `numbering` reads them all at once, and phonenumbers what it leaves undecided (everything,
    with `vectorized` off).
    """
    if vectorized:
        read = _in_threads(keys, lambda part: _interpret_vectorized(part, mobile_only))
    else:
        read = pl.DataFrame(
            {
                "phone_e164": pl.repeat(None, keys.height, dtype=pl.String, eager=True),
                _VERDICT: pl.repeat(None, keys.height, dtype=pl.Int32, eager=True),
                _DECIDED: pl.repeat(False, keys.height, eager=True),
            }
        )
    undecided = read.get_column(_DECIDED).not_().arg_true()
    pairs = keys.select(pl.col(_CLEAN, _KEY_REGION).gather(undecided)).rows()
    outcomes = _reader.read_all(pairs, mobile_only)
    e164 = read.get_column("phone_e164").scatter(undecided, [e164 for e164, _ in outcomes])
    verdict = read.get_column(_VERDICT).scatter(undecided, [verdict for _, verdict in outcomes])
    return pl.DataFrame([e164, verdict]), len(pairs)


def _in_threads(keys: pl.DataFrame, read: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """`read(keys)`, on one slice of the keys per core when there are `_THREADS_FROM_KEYS` or more.

    The reading is polars queries built per region in Python; with two slices in two threads one
    slice's query building runs while the other's queries do, which takes about a fifth off a
    million keys on two cores. Each key's answer depends on the key alone, so the slices' answers
    put end to end are the answer for all the keys.
    """
    threads = min(max(os.cpu_count() or 1, 2), keys.height // _THREADS_FROM_KEYS)
    if threads < 2:
        return read(keys)
    size = -(-keys.height // threads)
    with ThreadPoolExecutor(threads, thread_name_prefix="normalize") as pool:
        parts = list(
            pool.map(read, [keys.slice(start, size) for start in range(0, keys.height, size)])
        )
    return pl.concat(parts)


def _interpret_vectorized(keys: pl.DataFrame, mobile_only: bool) -> pl.DataFrame:
    """What `_reader.Reader.interpret` gives, per key: `phone_e164`, `_VERDICT`, and `_DECIDED`
    (false where `numbering` cannot decide a reading the key needs).

    The readings and their order are `_reader.readings`'; the international reading of a value
    without `+` is only made where the national one leaves it needed (no region, or a national
    reading that found nothing).
    """
    values, regions = keys.get_column(_CLEAN), keys.get_column(_KEY_REGION)
    first = _read_vectorized(values, regions, mobile_only)
    international = values.str.starts_with("+")
    again = (
        ~international & (regions.is_null() | (first.get_column(_DECIDED) & ~first[_FOUND]))
    ).arg_true()
    second = _read_vectorized(
        "+" + values.gather(again).str.replace("^00", ""),
        pl.repeat(None, again.len(), dtype=pl.String, eager=True),
        mobile_only,
    )
    retried = [
        pl.repeat(None, keys.height, dtype=column.dtype, eager=True)
        .scatter(again, column)
        .alias(_RETRY + column.name)
        for column in second.get_columns()
    ]
    found, retry_found = pl.col(_FOUND), pl.col(_RETRY + _FOUND)
    in_region = pl.col(_KEY_REGION).is_not_null()
    plus = pl.col(_CLEAN).str.starts_with("+")

    def chosen(column: str, no_region: object) -> pl.Expr:
        """The first reading that finds a number, else the national reading's failure, else
        (no region to read a national number in) `no_region`."""
        return (
            pl.when(plus | (in_region & found))
            .then(pl.col(column))
            .when(retry_found)
            .then(pl.col(_RETRY + column))
            .when(in_region)
            .then(pl.col(column))
            .otherwise(pl.lit(no_region, dtype=first.schema[column]))
            .alias(column)
        )

    decided = (
        pl.when(plus)
        .then(pl.col(_DECIDED))
        .when(in_region)
        .then(pl.col(_DECIDED) & (found | pl.col(_RETRY + _DECIDED)))
        .otherwise(pl.col(_RETRY + _DECIDED))
    )
    return pl.concat([keys, first, pl.DataFrame(retried)], how="horizontal").select(
        chosen("phone_e164", None),
        chosen(_VERDICT, _reader.NO_REGION),
        decided.fill_null(False).alias(_DECIDED),
    )


def _read_vectorized(values: pl.Series, regions: pl.Series, mobile_only: bool) -> pl.DataFrame:
    """`_reader.Reader._read` on every (value, region) at once: `phone_e164`, `_VERDICT`,
    `_FOUND` (see `_reader.found`) and `_DECIDED` (false where `numbering` cannot decide)."""
    parsed = numbering.parse(values, regions)
    kinds = numbering.classify(
        parsed.get_column(numbering.COUNTRY_CODE), parsed.get_column(numbering.NATIONAL_NUMBER)
    )
    error = pl.col(numbering.ERROR).cast(pl.Int32)
    code = pl.col(numbering.COUNTRY_CODE).cast(pl.Int32)
    kind = pl.col(numbering.NUMBER_TYPE).cast(pl.Int32)
    valid = kind != PhoneNumberType.UNKNOWN
    refused = valid & ~kind.is_in(list(MOBILE_TYPES)) if mobile_only else pl.lit(False)
    accepted = valid & ~refused
    return pl.concat([parsed, kinds], how="horizontal").select(
        pl.when(accepted)
        .then(pl.format("+{}{}", code, numbering.NATIONAL_NUMBER))
        .alias("phone_e164"),
        pl.when(error.is_not_null())
        .then(_reader.PARSE_FAILED + error)
        .when(refused)
        .then(_reader.not_mobile(code, kind))
        .when(~valid)
        .then(_reader.invalid(code, pl.col(numbering.POSSIBLE).cast(pl.Int32)))
        .cast(pl.Int32)
        .alias(_VERDICT),
        (accepted | refused).fill_null(False).alias(_FOUND),
        (error.is_not_null() | kind.is_not_null()).alias(_DECIDED),
    )


def _rejects(rows: pl.DataFrame) -> pl.DataFrame:
    """The rejects layout (`REJECTS_SCHEMA`) of rows that carry a verdict."""
    verdicts = rows.get_column(_VERDICT).unique()
    texts = [_verdict_text(verdict) for verdict in verdicts]
    table = pl.DataFrame(
        [
            verdicts,
            pl.Series("reason", [reason.value for reason, _ in texts], dtype=pl.String),
            pl.Series("detail", [detail for _, detail in texts], dtype=pl.String),
        ]
    )
    bad_region = pl.format(_RULE_TEXTS[_RULE_BAD_REGION][1], pl.col("region_raw"))
    return (
        rows.join(table, on=_VERDICT, how="left", maintain_order="left")
        .select(
            "source_file",
            "source_line",
            pl.col("phone_raw").alias("raw_value"),
            pl.col(_REGION).alias("region"),
            "reason",
            pl.when(pl.col(_VERDICT) == _RULE_BAD_REGION)
            .then(bad_region)
            .otherwise(pl.col("detail"))
            .alias("detail"),
        )
        .cast(REJECTS_SCHEMA)
    )


def _verdict_text(verdict: int) -> tuple[Reason, str]:
    """The reason and the detail of a verdict (see `pipeline._reader`)."""
    kind, first, second = _reader.decode(verdict)
    match kind:
        case "rule":
            return _RULE_TEXTS[first]
        case "parse_failed":
            return _PARSE_FAILURES[first]
        case "no_region":
            return _NO_REGION
        case "invalid":
            reason, template = _INVALID[second]
            return reason, template.format(where=f"+{first}")
        case _:
            return (
                Reason.NOT_MOBILE,
                f"a valid +{first} number of type {PhoneNumberType.to_string(second)}, "
                "not a mobile",
            )


_TYPE_NAMES = {kind: PhoneNumberType.to_string(kind) for kind in PhoneNumberType.values()}


def _describe_vectorized(e164: pl.Series) -> pl.DataFrame:
    """`_describe` for every number at once, with `_DECIDED` false where `numbering` cannot."""
    parsed = numbering.parse(e164, pl.repeat(None, e164.len(), dtype=pl.String, eager=True))
    kinds = numbering.classify(
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
