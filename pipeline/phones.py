"""Normalize raw phone numbers to E.164, or say exactly why a number cannot be used.

The work is split by what it needs. Cleaning (Unicode folding, `tel:`, separators, Excel's float
and scientific damage, the reject reasons that follow from the text alone) is vectorized polars
string work. Whatever needs the numbering plan (country codes, trunk prefixes, number
ranges, number types) goes to phonenumbers, once per distinct (cleaned value, region) pair, and
the answers are joined back: an export repeats the same numbers in the same few spellings, so the
distinct pairs are far fewer than the rows, and a Python call per row would dominate the run.

Reading a value without `+`: as a national number of the row's region first (the country column,
else the default region); if that is not a valid number, as an international number that lost its
`+` (Excel's `447911123456.0`, or `00` from a country whose exit code is not 00). Without any
region, the international reading is the only one.

Even once per distinct pair, phonenumbers costs about 55 µs a number, and a large export has
hundreds of thousands of distinct numbers. So the readings are first decided for all pairs at once
by `pipeline.numbering`, which runs phonenumbers' own metadata patterns as polars expressions and
gives exactly phonenumbers' answers where it answers at all; only the pairs it leaves undecided
(rare spellings, a few regions' rewriting rules) go to phonenumbers one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
import polars as pl
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)

from pipeline import numbering
from pipeline.errors import InvalidRegionError
from pipeline.rejects import REJECTS_SCHEMA, Reason
from pipeline.schemas import Contacts, validate_lazily

__all__ = [
    "MOBILE_TYPES",
    "NormalizeResult",
    "Reason",
    "dedupe",
    "describe_numbers",
    "normalize",
]

MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
"""What `mobile_only` accepts: where mobiles and landlines share ranges (US, CA) both are typed
FIXED_LINE_OR_MOBILE, and refusing those would refuse every North American number."""

_SUPPORTED_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)

# Working columns; the double underscore keeps them clear of whatever columns a caller brings.
_TEXT = "__text"
_CLEAN = "__clean"
_REGION = "__region"
_KEY_REGION = "__key_region"
_EARLY_REASON = "__early_reason"
_EARLY_DETAIL = "__early_detail"
_REASON = "__reason"
_DETAIL = "__detail"
_INDEX = "__index"
_FIRST = "__first"  # column prefixes: the national or only reading, and the international one
_SECOND = "__second"
_FOUND = "__found"
_DECIDED = "__decided"
_VERDICT_CODE = "__verdict_code"
_VERDICT_KIND = "__verdict_kind"
_VERDICT_POSSIBLE = "__verdict_possible"

_TEL_PREFIX = r"(?i)^tel:"
_EXTENSION = r"(?i)(?:;ext=|extension|\bext\.?|x|#)\s*\d+$"
_SCIENTIFIC = r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$"
_FLOAT_CAST = r"^(\d{6,})\.0+$"
_SEPARATORS = r"[\s.\-\u2010-\u2015()\[\]/']"
_DIGITS = r"^\+?\d+$"


@dataclass(frozen=True)
class NormalizeResult:
    """Every input row lands in exactly one of `valid` and `rejects`."""

    valid: pl.DataFrame
    """The input columns plus `phone_e164` and `region`: the region national numbers were read
    with (the row's country, else the default region; null if the country was not a code)."""
    rejects: pl.DataFrame
    """`source_file, source_line, raw_value, region, reason, detail` (see `pipeline.rejects`)."""
    distinct_values: int
    """How many distinct (cleaned value, region) pairs the run read: far fewer than the rows."""
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


@dataclass(frozen=True)
class _Outcome:
    e164: str | None = None
    reason: Reason | None = None
    detail: str | None = None

    @property
    def found(self) -> bool:
        """A valid number was read (even one `mobile_only` refuses): no other reading is tried."""
        return self.e164 is not None or self.reason is Reason.NOT_MOBILE


_NO_REGION = _Outcome(
    reason=Reason.INVALID_COUNTRY_CODE,
    detail="no country code and no region to read it as a national number; "
    "set a default region or a country column",
)
_PARSE_FAILURES: dict[int, _Outcome] = {
    NumberParseException.INVALID_COUNTRY_CODE: _Outcome(
        reason=Reason.INVALID_COUNTRY_CODE,
        detail="does not start with a country calling code that exists",
    ),
    NumberParseException.NOT_A_NUMBER: _Outcome(
        reason=Reason.NOT_A_NUMBER, detail="cannot be read as a phone number"
    ),
    NumberParseException.TOO_SHORT_AFTER_IDD: _Outcome(
        reason=Reason.TOO_SHORT, detail="too few digits after the international prefix"
    ),
    NumberParseException.TOO_SHORT_NSN: _Outcome(
        reason=Reason.TOO_SHORT, detail="too few digits for a phone number"
    ),
    NumberParseException.TOO_LONG: _Outcome(
        reason=Reason.TOO_LONG, detail="too many digits for a phone number"
    ),
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
    keys = prepared.filter(pl.col(_EARLY_REASON).is_null()).select(_CLEAN, _KEY_REGION).unique()
    decided = _interpret_vectorized(keys, mobile_only) if _vectorized else keys.clear()
    undecided = keys.join(decided, on=[_CLEAN, _KEY_REGION], how="anti", nulls_equal=True)
    outcomes = pl.concat([decided, _interpret_all(undecided, mobile_only)], how="diagonal")
    joined = prepared.join(
        outcomes, on=[_CLEAN, _KEY_REGION], how="left", nulls_equal=True, maintain_order="left"
    ).with_columns(
        pl.coalesce(_EARLY_REASON, _REASON).alias(_REASON),
        pl.coalesce(_EARLY_DETAIL, _DETAIL).alias(_DETAIL),
    )
    rejected = pl.col(_REASON).is_not_null()
    valid = joined.filter(~rejected).select(
        *frame.columns, pl.col(_REGION).alias("region"), "phone_e164"
    )
    rejects = joined.filter(rejected).select(
        "source_file",
        "source_line",
        pl.col("phone_raw").alias("raw_value"),
        pl.col(_REGION).alias("region"),
        pl.col(_REASON).alias("reason"),
        pl.col(_DETAIL).alias("detail"),
    )
    valid, unexpected = validate_lazily(Contacts, valid)
    return NormalizeResult(
        valid=valid,
        rejects=pl.concat([rejects.cast(REJECTS_SCHEMA), unexpected]),
        distinct_values=keys.height,
        distinct_parsed=undecided.height,
    )


def dedupe(
    valid: pl.DataFrame, by: Sequence[str] = ("group", "phone_e164")
) -> tuple[pl.DataFrame, int]:
    """Keep the first row of each number within its group; return (rows, duplicates dropped).

    Run on normalized rows, so `07911 123456` and `+44 7911 123456` are recognised as one person.
    """
    kept = valid.unique(subset=list(by), keep="first", maintain_order=True)
    return kept, valid.height - kept.height


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
    """Add the region, the cleaned value, the distinct-key region and any reason known from text."""
    region_text = pl.col("region_raw").str.strip_chars().str.to_uppercase()
    given = region_text.is_not_null() & (region_text != "")
    known = region_text.is_in(_SUPPORTED_REGIONS)
    region = (
        pl.when(given & known)
        .then(region_text)
        .when(~given)
        .then(pl.lit(default_region))
        .cast(pl.String)
    )
    text = pl.col(_TEXT).str.strip_chars().str.replace(_TEL_PREFIX, "").str.strip_chars()
    dials_00 = _regions_dialling_00(frame.select(region.drop_nulls().unique()).to_series())
    clean = _clean(pl.col(_TEXT), pl.col(_REGION).is_null() | pl.col(_REGION).is_in(dials_00))
    # With a country code the region changes nothing, so leaving it out of the key merges rows.
    national = ~pl.col(_CLEAN).str.starts_with("+")
    # Lazy, so that the tests the early rejects share (see `_early_rejects`) run once.
    return (
        frame.with_columns(_nfkc(frame.get_column("phone_raw")).alias(_TEXT))
        .lazy()
        .with_columns(text.alias(_TEXT), region.alias(_REGION))
        .with_columns(clean.alias(_CLEAN))
        .with_columns(
            pl.when(national).then(pl.col(_REGION)).alias(_KEY_REGION),
            *_early_rejects(pl.col(_TEXT), pl.col(_CLEAN), bad_region=given & ~known & national),
        )
        .collect()
    )


def _nfkc(values: pl.Series) -> pl.Series:
    """NFKC-fold (full-width digits and plus, odd spaces) the values that are not plain ASCII.

    ASCII text is NFKC already, and folding every value would cost more than the rest of the
    cleaning together; a value is ASCII exactly when it has as many bytes as characters.
    """
    folded = (values.str.len_bytes() != values.str.len_chars()).arg_true()
    return values.clone().scatter(folded, values.gather(folded).str.normalize("NFKC"))


def _clean(text: pl.Expr, exit_code_is_00: pl.Expr) -> pl.Expr:
    """Strip what carries no digits; where `00` is the exit code, spell it `+`.

    The `0` of `+44 (0)7400` stays: phonenumbers drops a trunk prefix after a country code where
    it is one (GB, DE, FR) and keeps it where it is part of the number (Italy's `+39 06`).

    Writing `0044...` as `+44...` is exact there (phonenumbers reads both the same) and merges
    the two spellings before the distinct step; elsewhere a leading 00 is left to phonenumbers.
    """
    digits = text.str.replace(_FLOAT_CAST, "$1").str.replace_all(_SEPARATORS, "")
    return pl.when(exit_code_is_00).then(digits.str.replace(r"^00", "+")).otherwise(digits)


def _early_rejects(text: pl.Expr, clean: pl.Expr, *, bad_region: pl.Expr) -> list[pl.Expr]:
    """The reasons that follow from the text alone, first match wins, as (reason, detail)."""
    rules: list[tuple[pl.Expr, Reason, pl.Expr]] = [
        (clean.is_null() | (clean == ""), Reason.EMPTY, pl.lit("the phone cell is empty")),
        (
            text.str.contains(_EXTENSION),
            Reason.HAS_EXTENSION,
            pl.lit("has an extension, which an SMS cannot reach"),
        ),
        (
            text.str.contains(_SCIENTIFIC),
            Reason.EXCEL_DAMAGED,
            pl.lit(
                "in scientific notation: a spreadsheet rounded it and the lost digits cannot be "
                "recovered; export the column as text"
            ),
        ),
        (
            ~clean.str.contains(_DIGITS),
            Reason.NOT_A_NUMBER,
            pl.lit("holds characters other than digits, a leading '+' and separators"),
        ),
        (
            bad_region,
            Reason.INVALID_COUNTRY_CODE,
            pl.format(
                "country '{}' is not an ISO 3166 alpha-2 code (such as GB) and the number has no "
                "country code",
                pl.col("region_raw"),
            ),
        ),
    ]
    # Each when/then is null unless its rule matches, so coalescing them keeps the first match.
    reason = pl.coalesce(*(pl.when(c).then(pl.lit(code.value)) for c, code, _ in rules))
    detail = pl.coalesce(*(pl.when(c).then(detail) for c, _, detail in rules))
    return [reason.alias(_EARLY_REASON), detail.alias(_EARLY_DETAIL)]


def _regions_dialling_00(regions: Iterable[str]) -> list[str]:
    return [
        region
        for region in regions
        if (metadata := PhoneMetadata.metadata_for_region(region)) is not None
        and metadata.international_prefix == "00"
    ]


def _interpret_all(keys: pl.DataFrame, mobile_only: bool) -> pl.DataFrame:
    """The one place phonenumbers runs on input: once per distinct (cleaned value, region)."""
    reader = _Reader(mobile_only)
    outcomes = [reader.interpret(value, region) for value, region in keys.iter_rows()]
    return keys.with_columns(
        pl.Series("phone_e164", [o.e164 for o in outcomes], dtype=pl.String),
        pl.Series(_REASON, [o.reason and o.reason.value for o in outcomes], dtype=pl.String),
        pl.Series(_DETAIL, [o.detail for o in outcomes], dtype=pl.String),
    )


def _interpret_vectorized(keys: pl.DataFrame, mobile_only: bool) -> pl.DataFrame:
    """What `_Reader.interpret` gives, for the keys whose every needed reading `numbering` decides.

    The keys it cannot decide are left out. The readings and their order are `_readings`'; the
    international reading of a value without `+` is only made where the national one leaves it
    needed (no region, or a national reading that found nothing).
    """
    value, region = pl.col(_CLEAN), pl.col(_KEY_REGION)
    international = value.str.starts_with("+")
    first = _read_vectorized(keys.get_column(_CLEAN), keys.get_column(_KEY_REGION), mobile_only)
    readings = pl.concat(
        [keys.with_row_index(_INDEX), first.select(pl.all().name.prefix(_FIRST))],
        how="horizontal",
    )
    again = readings.filter(
        ~international & (region.is_null() | (pl.col(_FIRST + _DECIDED) & ~pl.col(_FIRST + _FOUND)))
    ).select(_INDEX, ("+" + value.str.replace("^00", "")).alias(_CLEAN))
    second = _read_vectorized(
        again.get_column(_CLEAN),
        pl.repeat(None, again.height, dtype=pl.String, eager=True),
        mobile_only,
    )
    readings = readings.join(
        pl.concat(
            [again.select(_INDEX), second.select(pl.all().name.prefix(_SECOND))],
            how="horizontal",
        ),
        on=_INDEX,
        how="left",
    )

    def chosen(column: str, no_region: str | None) -> pl.Expr:
        """The first reading that finds a number, else the national reading's failure, else
        (no region to read a national number in) `_NO_REGION`."""
        return (
            pl.when(international | (region.is_not_null() & pl.col(_FIRST + _FOUND)))
            .then(pl.col(_FIRST + column))
            .when(pl.col(_SECOND + _FOUND))
            .then(pl.col(_SECOND + column))
            .when(region.is_not_null())
            .then(pl.col(_FIRST + column))
            .otherwise(pl.lit(no_region, dtype=pl.String))
            .alias(column)
        )

    decided = (
        pl.when(international)
        .then(pl.col(_FIRST + _DECIDED))
        .when(region.is_not_null())
        .then(pl.col(_FIRST + _DECIDED) & (pl.col(_FIRST + _FOUND) | pl.col(_SECOND + _DECIDED)))
        .otherwise(pl.col(_SECOND + _DECIDED))
    )
    return readings.filter(decided.fill_null(False)).select(
        _CLEAN,
        _KEY_REGION,
        chosen("phone_e164", None),
        chosen(_REASON, _NO_REGION.reason and _NO_REGION.reason.value),
        chosen(_DETAIL, _NO_REGION.detail),
    )


def _read_vectorized(values: pl.Series, regions: pl.Series, mobile_only: bool) -> pl.DataFrame:
    """`_Reader._read` on every (value, region) at once: `phone_e164`, the reason and detail,
    `_FOUND` (see `_Outcome.found`) and `_DECIDED` (false where `numbering` cannot decide)."""
    parsed = numbering.parse(values, regions)
    kinds = numbering.classify(
        parsed.get_column(numbering.COUNTRY_CODE), parsed.get_column(numbering.NATIONAL_NUMBER)
    )
    numbers = pl.concat([parsed, kinds], how="horizontal")
    error, code, kind = (
        pl.col(numbering.ERROR),
        pl.col(numbering.COUNTRY_CODE),
        pl.col(numbering.NUMBER_TYPE),
    )
    valid = kind != PhoneNumberType.UNKNOWN
    refused = valid & ~kind.is_in(list(MOBILE_TYPES)) if mobile_only else pl.lit(False)
    accepted = valid & ~refused
    # What the reason and detail depend on; they are written by the functions `_Reader` uses,
    # once per distinct verdict rather than per number.
    numbers = numbers.with_columns(
        pl.when(~accepted).then(code).alias(_VERDICT_CODE),
        pl.when(refused).then(kind).alias(_VERDICT_KIND),
        pl.when(~valid).then(numbering.POSSIBLE).alias(_VERDICT_POSSIBLE),
        pl.when(accepted)
        .then(pl.format("+{}{}", code, numbering.NATIONAL_NUMBER))
        .alias("phone_e164"),
        (accepted | refused).fill_null(False).alias(_FOUND),
        (error.is_not_null() | kind.is_not_null()).alias(_DECIDED),
    )
    verdicts = (
        numbers.filter(error.is_not_null() | pl.col(_VERDICT_CODE).is_not_null())
        .select(pl.col(numbering.ERROR), _VERDICT_CODE, _VERDICT_KIND, _VERDICT_POSSIBLE)
        .unique()
    )
    texts = [_verdict_text(*row) for row in verdicts.iter_rows()]
    verdicts = verdicts.with_columns(
        pl.Series(_REASON, [o.reason and o.reason.value for o in texts], dtype=pl.String),
        pl.Series(_DETAIL, [o.detail for o in texts], dtype=pl.String),
    )
    return numbers.join(
        verdicts,
        on=[numbering.ERROR, _VERDICT_CODE, _VERDICT_KIND, _VERDICT_POSSIBLE],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    ).select("phone_e164", _REASON, _DETAIL, _FOUND, _DECIDED)


def _verdict_text(
    error: int | None, country_code: int | None, kind: int | None, possible: int | None
) -> _Outcome:
    """The reason and detail of a reading that found no usable number, as `_Reader` writes them."""
    if error is not None:
        return _PARSE_FAILURES[error]
    assert country_code is not None
    if kind is not None:
        return _not_mobile(country_code, kind)
    assert possible is not None
    return _invalid(country_code, possible)


class _Reader:
    """Reads cleaned values with phonenumbers for one run.

    The spellings of one number (`07911123456` in GB, `+447911123456`) are different keys of the
    distinct step but parse to the same number, and validating and typing it costs more than
    parsing; so each parsed number's verdict is kept for the rest of the run.
    """

    def __init__(self, mobile_only: bool) -> None:
        self._mobile_only = mobile_only
        self._verdicts: dict[tuple[int | None, int | None, bool, int], _Outcome] = {}

    def interpret(self, value: str, region: str | None) -> _Outcome:
        """The first reading that finds a number; else why the most trusted reading failed."""
        failures: list[_Outcome] = []
        for candidate, candidate_region in _readings(value, region):
            outcome = self._read(candidate, candidate_region)
            if outcome.found:
                return outcome
            failures.append(outcome)
        if region is None and not value.startswith("+"):
            return _NO_REGION
        return failures[0]

    def _read(self, candidate: str, region: str | None) -> _Outcome:
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException as exc:
            return _PARSE_FAILURES[exc.error_type]
        key = (
            number.country_code,
            number.national_number,
            bool(number.italian_leading_zero),
            number.number_of_leading_zeros or 1,
        )
        if key not in self._verdicts:
            self._verdicts[key] = self._judge(number)
        return self._verdicts[key]

    def _judge(self, number: PhoneNumber) -> _Outcome:
        if not phonenumbers.is_valid_number(number):
            return _invalid(
                number.country_code, phonenumbers.is_possible_number_with_reason(number)
            )
        if self._mobile_only:
            kind = phonenumbers.number_type(number)
            if kind not in MOBILE_TYPES:
                return _not_mobile(number.country_code, kind)
        return _Outcome(e164=phonenumbers.format_number(number, PhoneNumberFormat.E164))


def _invalid(country_code: int, possible: int) -> _Outcome:
    """Why a parsed number is not valid, from `is_possible_number_with_reason`."""
    reason, template = _INVALID[possible]
    return _Outcome(reason=reason, detail=template.format(where=f"+{country_code}"))


def _not_mobile(country_code: int, kind: int) -> _Outcome:
    return _Outcome(
        reason=Reason.NOT_MOBILE,
        detail=f"a valid +{country_code} number of type {PhoneNumberType.to_string(kind)}, "
        "not a mobile",
    )


def _readings(value: str, region: str | None) -> list[tuple[str, str | None]]:
    """The ways to read a cleaned value, most trusted first (see the module docstring)."""
    if value.startswith("+"):
        return [(value, None)]
    international = "+" + value.removeprefix("00")
    return [(value, region), (international, None)] if region else [(international, None)]


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
