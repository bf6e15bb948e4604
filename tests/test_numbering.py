"""The vectorized reading (`pipeline.phones.numbering`) held to phonenumbers itself, value by
value: every region's and non-geographic code's example numbers of every type, their perturbations
and spellings, and random digit strings behind real country codes. Then normalize() and
describe_numbers() with and without it, frame for frame, on messy corpora and the samples."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
)
from polars.testing import assert_frame_equal

from bench.make_contacts import COUNTRY_COLUMN, DEFAULT_REGION, contacts, write
from pipeline.load import RAW_SCHEMA, load_contacts
from pipeline.phones import (
    describe_numbers,
    normalize,
    numbering,
    plan_checks,
    plans,
    reading,
    threads,
)

# The reference and the fallback read every region's patterns, more than `re` caches: keep them.
phonenumbers.enable_pattern_cache()

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)
TYPES = [kind for kind in PhoneNumberType.values() if kind != PhoneNumberType.UNKNOWN]
DESCS = ["fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number"]
DESCS += ["voip", "pager", "uan", "voicemail"]

Verdict = tuple[Any, ...]
"""(country code, national number, error, region, number type, possible, valid)."""


# --- phonenumbers, the reference ----------------------------------------------------------------


class Reference:
    """phonenumbers' answers for (value, region), judging each distinct parsed number once.

    A parsed number is its country code and national significant number (the leading-zero fields
    are a function of the latter), and every judgement below reads only those, so judging each
    once is exact and keeps the many spellings of one number cheap.
    """

    def __init__(self) -> None:
        self._judged: dict[tuple[int, str], tuple[Any, ...]] = {}

    def verdict(self, value: str, region: str | None) -> Verdict:
        try:
            number = phonenumbers.parse(value, region)
        except NumberParseException as exc:
            return (None, None, exc.error_type, None, None, None, None)
        national = phonenumbers.national_significant_number(number)
        key = (number.country_code, national)
        if key not in self._judged:
            self._judged[key] = (
                phonenumbers.region_code_for_number(number),
                phonenumbers.number_type(number),
                phonenumbers.is_possible_number_with_reason(number),
                phonenumbers.is_valid_number(number),
            )
        return (*key, None, *self._judged[key])


def vectorized(pairs: list[tuple[str, str | None]]) -> list[Verdict | None]:
    """`numbering`'s answers in the reference's shape; None where it leaves a value undecided."""
    parsed = numbering.parse(
        pl.Series([value for value, _ in pairs], dtype=pl.String),
        pl.Series([region for _, region in pairs], dtype=pl.String),
    )
    classified = plan_checks.classify(
        parsed.get_column(numbering.COUNTRY_CODE), parsed.get_column(numbering.NATIONAL_NUMBER)
    )
    verdicts: list[Verdict | None] = []
    for code, national, error, region, kind, possible in pl.concat(
        [parsed, classified], how="horizontal"
    ).iter_rows():
        if error is not None:
            verdicts.append((None, None, error, None, None, None, None))
        elif kind is None:
            verdicts.append(None)
        else:
            valid = kind != PhoneNumberType.UNKNOWN
            verdicts.append((code, national, None, region, kind, possible, valid))
    return verdicts


def compare(pairs: list[tuple[str, str | None]]) -> tuple[list[Any], list[Any]]:
    """(the values left undecided, the decided ones whose verdict differs from phonenumbers')."""
    reference = Reference()
    undecided, wrong = [], []
    for (value, region), got in zip(pairs, vectorized(pairs), strict=True):
        if got is None:
            undecided.append((value, region))
        elif got != (expected := reference.verdict(value, region)):
            wrong.append((value, region, got, expected))
    return undecided, wrong


# --- the corpus ---------------------------------------------------------------------------------


def examples() -> Iterator[tuple[PhoneNumber, str | None]]:
    """Every region's example number of every type and its invalid example; the same for each
    non-geographic code (read with no region)."""
    for region in REGIONS:
        for kind in TYPES:
            if (number := phonenumbers.example_number_for_type(region, kind)) is not None:
                yield number, region
        if (invalid := phonenumbers.invalid_example_number(region)) is not None:
            yield invalid, region
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        metadata = PhoneMetadata.metadata_for_nongeo_region(code)
        for name in DESCS:
            if (desc := getattr(metadata, name)) is not None and desc.example_number:
                yield phonenumbers.parse(f"+{code}{desc.example_number}"), None


def perturb(digits: str, rng: random.Random) -> str:
    """The digits with one digit changed, added or removed, or the last few redrawn."""
    chars = list(digits)
    where = rng.randrange(len(chars))
    match rng.randrange(4):
        case 0:
            chars[where] = str(rng.randrange(10))
        case 1:
            chars.insert(where, str(rng.randrange(10)))
        case 2 if len(chars) > 1:
            del chars[where]
        case _:
            tail = rng.randint(1, min(4, len(chars)))
            chars[-tail:] = (str(rng.randrange(10)) for _ in range(tail))
    return "".join(chars)


def spellings(code: str, national: str, region: str | None, rng: random.Random) -> list[Any]:
    """Cleaned spellings of one national number: international (with a stray trunk 0 too) and,
    for a region, national with the trunk prefixes in use, with the country code or an exit code
    before it, and read in some other region."""
    pairs: list[tuple[str, str | None]] = [
        ("+" + code + national, None),
        (f"+{code}0{national}", None),
    ]
    if region is not None:
        metadata = PhoneMetadata.metadata_for_region(region)
        exit_code = metadata.preferred_international_prefix or metadata.international_prefix
        pairs += [(national, region), (code + national, region), ("00" + code + national, region)]
        pairs += [(trunk + national, region) for trunk in ("0", "1", "8")]
        if exit_code and exit_code.isdigit():
            pairs.append((exit_code + code + national, region))
        pairs.append((national, rng.choice(REGIONS)))
    return pairs


def random_digits(rng: random.Random, count: int) -> list[tuple[str, str | None]]:
    """Digit strings of 4 to 17 digits behind real country codes, read every way, and behind a
    bare `+` (mostly no country code, or a leading 0)."""
    pairs: list[tuple[str, str | None]] = []
    for _ in range(count):
        code = str(rng.choice(CODES))
        digits = "".join(rng.choices("0123456789", k=rng.randint(4, 17)))
        pairs += [("+" + code + digits, None), (code + digits, rng.choice(REGIONS))]
        pairs += [(digits, rng.choice(REGIONS)), ("+" + digits, None)]
    return pairs


# Lengths at the edges of `parse`'s rules: viability, the country code, the shortest and longest
# national numbers, the input limit.
EDGES: list[tuple[str, str | None]] = [
    *((value, None) for value in ["+1", "+12", "+123", "+44", "+440", "+4401", "+0", "+00"]),
    *((value, None) for value in ["+999", "+9991234", "+80012", "+8001234567890123456"]),
    *((value, region) for value in ["00", "000", "012", "440", "4401", "1"] for region in REGIONS),
    *(("7" * length, "GB") for length in range(15, 22)),
    *(("+44" + "7" * length, None) for length in range(14, 20)),
    ("+44" + "7" * 246, None),
    ("+44" + "7" * 247, None),
    ("7" * 250, "GB"),
    ("7" * 251, "GB"),
]


# Cases that trip readers of phone numbers, each as phonenumbers reads it: Italy's leading zero,
# a trunk 0 left after the country code, the country code typed without `+`, codes several
# regions share (NANPA, +44 with the Crown Dependencies, +7), trunk prefixes other than 0 (KZ,
# RU), old mobile prefixes (AR's 9, MX's 1), carrier codes (BR), Germany's variable lengths,
# non-geographic codes, and numbers at the length limits.
TRICKY: list[tuple[str, str | None]] = [
    ("+390612345678", None),
    ("0612345678", "IT"),
    ("+3906123", None),
    ("390612345678", "IT"),
    ("+4407400123456", None),
    ("4407400123456", "GB"),
    ("447400123456", "GB"),
    ("07400123456", "GB"),
    ("7400123456", "GB"),
    ("12015550123", "US"),
    ("2015550123", "CA"),
    ("5062345678", "US"),
    ("+18095551234", None),
    ("8095551234", "DO"),
    ("+12685550123", None),
    ("+447797123456", None),
    ("07797123456", "JE"),
    ("+441534123456", None),
    ("+447624123456", None),
    ("+77012345678", None),
    ("87012345678", "KZ"),
    ("+74951234567", None),
    ("84951234567", "RU"),
    ("+5491123456789", None),
    ("+541123456789", None),
    ("+5215512345678", None),
    ("+525512345678", None),
    ("5512345678", "MX"),
    ("+5511961234567", None),
    ("11961234567", "BR"),
    ("011961234567", "BR"),
    ("030123", "DE"),
    ("+4930123", None),
    ("03012345678901", "DE"),
    ("+4915123456789", None),
    ("+80012345678", None),
    ("+8001234567", None),
    ("+882345678901", None),
    ("+979123456789", None),
    ("09123456789", "IN"),
    ("919123456789", "IN"),
    ("9123456789", "IN"),
    ("61412345678", "AU"),
    ("+330612345678", None),
    ("09012345678", "JP"),
    ("+8190", None),
    ("08031234567", "NG"),
    ("+37061234567", None),
    ("861234567", "LT"),
    ("013812345678", "CN"),
    ("0871234567", "IE"),
    ("+999123456", None),
    ("+0123456789", None),
    ("+4412", None),
    ("+44740012345678901", None),
    ("+44", None),
    ("44", "GB"),
    ("0", "GB"),
]


def _examples_by_region() -> list[tuple[str | None, list[tuple[str, str]]]]:
    """(region, its example numbers as (country code, national number)); for each
    non-geographic code, (None, its example numbers)."""
    grouped: dict[tuple[str | None, int], list[tuple[str, str]]] = {}
    for number, region in examples():
        key = (region, 0 if region is not None else number.country_code)
        national = phonenumbers.national_significant_number(number)
        grouped.setdefault(key, []).append((str(number.country_code), national))
    return [(region, numbers) for (region, _), numbers in grouped.items()]


EXAMPLES_BY_REGION = _examples_by_region()


@st.composite
def numbers_of(
    draw: st.DrawFn, region: str | None, numbers: list[tuple[str, str]]
) -> list[tuple[str, str | None]]:
    """One number near one of the region's examples (a drawn tail replaces the example's,
    one digit longer at most), in every spelling `spellings` knows for it."""
    code, national = draw(st.sampled_from(numbers))
    kept = draw(st.integers(1, len(national)))
    tail = draw(st.text("0123456789", max_size=len(national) - kept + 1))
    return spellings(code, national[:kept] + tail, region, random.Random(draw(st.integers())))


def corpus(rng: random.Random, perturbations: int) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for number, region in examples():
        code = str(number.country_code)
        national = phonenumbers.national_significant_number(number)
        for variant in [national, *(perturb(national, rng) for _ in range(perturbations))]:
            pairs += spellings(code, variant, region, rng)
        if region is not None:
            formatted = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
            pairs.append(("".join(ch for ch in formatted if ch.isdigit()), region))
    return pairs


# --- the reading, value by value ----------------------------------------------------------------


def test_every_region_metadata_is_usable() -> None:
    unusable = [
        (code, region)
        for code, regions in COUNTRY_CODE_TO_REGION_CODE.items()
        for region in regions
        if plans.plan_for(code, region) is None
    ]

    assert unusable == []


def test_parse_and_classify_match_phonenumbers_for_every_region() -> None:
    rng = random.Random(20240611)
    pairs = corpus(rng, perturbations=2) + random_digits(rng, 6_000) + EDGES

    undecided, wrong = compare(pairs)

    assert wrong == []
    assert len(pairs) - len(undecided) > 55_000
    # Behind `00` phonenumbers reads an exit code, which is left to it (normalize() spells `00` as
    # `+` first where that is the exit code); of the rest, nearly all is decided.
    assert sum(not value.startswith("00") for value, _ in undecided) < 0.03 * len(pairs)


@settings(max_examples=6, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(CODES),
            st.text("0123456789", min_size=4, max_size=17),
            st.sampled_from([None, *REGIONS]),
            st.booleans(),
        ),
        min_size=60,
        max_size=60,
    )
)
def test_random_digit_strings_match_phonenumbers(
    draws: list[tuple[int, str, str | None, bool]],
) -> None:
    pairs = [
        ("+" + str(code) + digits if plus or region is None else str(code) + digits, region)
        for code, digits, region, plus in draws
    ] + [(digits, region) for _, digits, region, _ in draws if region is not None]

    _, wrong = compare(pairs)

    assert wrong == []


@settings(max_examples=3, deadline=None)
@given(st.data())
def test_numbers_drawn_from_every_region_match_phonenumbers(data: st.DataObject) -> None:
    """Every region in the metadata, and every non-geographic code, in each example."""
    pairs = [
        pair
        for region, numbers in EXAMPLES_BY_REGION
        for pair in data.draw(numbers_of(region, numbers), label=str(region or numbers[0][0]))
    ]

    _, wrong = compare(pairs)

    assert wrong == []


def test_tricky_cases_match_phonenumbers() -> None:
    undecided, wrong = compare(TRICKY)

    assert wrong == []
    # Two digits and fewer read in a region are viable to phonenumbers and left to it.
    assert all(len(value) <= 2 for value, _ in undecided)


@pytest.mark.parametrize(
    ("value", "region"),
    [
        pytest.param("0111512345678", "AR", id="argentina-0-area-15-rewritten"),
        pytest.param("4601234", "AG", id="nanpa-seven-digits-get-area-code"),
        pytest.param("456789", "JE", id="jersey-six-digits-get-area-code"),
        pytest.param("011447400123456", "US", id="exit-code-without-plus"),
        pytest.param("+4474001234\u0665", None, id="non-ascii-digit"),
        pytest.param("74", "GB", id="two-digits"),
        pytest.param("07400123456", None, id="national-without-region"),
    ],
)
def test_what_only_phonenumbers_decides_is_left_undecided(value: str, region: str | None) -> None:
    assert vectorized([(value, region)]) == [None]


# --- normalize() and describe_numbers(), with and without it ------------------------------------


def raw(values: list[str | None], regions: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_file": "corpus.csv",
            "source_line": range(2, len(values) + 2),
            "phone_raw": values,
            "region_raw": regions,
            "group": None,
        },
        schema=RAW_SCHEMA,
    )


def assert_same_normalize(frame: pl.DataFrame, **options: Any) -> None:
    fast = normalize(frame, **options)
    slow = normalize(frame, **options, _vectorized=False)

    assert_frame_equal(fast.valid, slow.valid)
    assert_frame_equal(fast.rejects, slow.rejects)
    assert fast.distinct_values == slow.distinct_values == slow.distinct_parsed
    assert fast.distinct_parsed < fast.distinct_values / 20


def messy_spellings(rng: random.Random) -> pl.DataFrame:
    """Every region's examples, and a perturbation of each, written three of the ways people
    write numbers, in a row of their own country, no country, another or a bad one."""
    rows: list[tuple[str, str | None]] = []
    for number, region in examples():
        national = phonenumbers.national_significant_number(number)
        variant = phonenumbers.parse(f"+{number.country_code}{perturb(national, rng)}")
        for candidate in (number, variant):
            e164 = phonenumbers.format_number(candidate, PhoneNumberFormat.E164)
            written = [
                e164,
                "00" + e164[1:],
                phonenumbers.format_number(candidate, PhoneNumberFormat.INTERNATIONAL),
                phonenumbers.format_number(candidate, PhoneNumberFormat.RFC3966),
            ]
            if region is not None:
                national_format = phonenumbers.format_number(candidate, PhoneNumberFormat.NATIONAL)
                written += [national_format, national_format.replace(" ", "")]
            countries = [None, region, region, "xx", rng.choice(REGIONS)]
            rows += [(value, rng.choice(countries)) for value in rng.sample(written, 3)]
    return raw([value for value, _ in rows], [country for _, country in rows])


@pytest.mark.parametrize(
    ("default_region", "mobile_only"),
    [(None, False), ("GB", True)],
    ids=["no-default", "GB-mobile"],
)
def test_normalize_is_the_same_with_or_without_it_on_every_region(
    default_region: str | None, mobile_only: bool
) -> None:
    frame = messy_spellings(random.Random(7))

    assert_same_normalize(frame, default_region=default_region, mobile_only=mobile_only)


@pytest.mark.parametrize("threads_from_keys", [None, 5_000], ids=["one-piece", "in-threads"])
def test_normalize_is_the_same_with_or_without_it_on_the_benchmark_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads_from_keys: int | None
) -> None:
    """Also with the rows read in slices on several threads, as a million-row file's are."""
    path = tmp_path / "contacts.csv"
    write(contacts(40_000, seed=11), path)
    frame = load_contacts(path, country_column=COUNTRY_COLUMN).frame
    slices: list[int] = []
    if threads_from_keys is not None:
        monkeypatch.setattr(threads, "ROWS_PER_THREAD", threads_from_keys)
        read = reading._interpret_vectorized
        monkeypatch.setattr(
            reading,
            "_interpret_vectorized",
            lambda keys, mobile_only: slices.append(keys.height) or read(keys, mobile_only),
        )

    assert_same_normalize(frame, default_region=DEFAULT_REGION)
    if threads_from_keys is not None:
        assert len(slices) >= 2, "the keys were read in slices"


def test_normalize_gives_the_same_rows_in_slices_as_in_one_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A million-row file is normalized one slice per thread; no row's answer may depend on it.
    Only a number repeated in two slices is read twice."""
    path = tmp_path / "contacts.csv"
    write(contacts(20_000, seed=5), path)
    frame = load_contacts(path, country_column=COUNTRY_COLUMN).frame
    monkeypatch.setattr(threads, "ROWS_PER_THREAD", frame.height + 1)
    whole = normalize(frame, default_region=DEFAULT_REGION)
    monkeypatch.setattr(threads, "ROWS_PER_THREAD", 3_000)
    sliced = normalize(frame, default_region=DEFAULT_REGION)

    assert_frame_equal(sliced.valid, whole.valid)
    assert_frame_equal(sliced.rejects, whole.rejects)
    assert whole.distinct_values <= sliced.distinct_values < whole.distinct_values * 1.2


# How the samples README loads each file (the files without a country column read national
# numbers only with a default region).
_SAMPLE_COLUMNS: dict[str, dict[str, str]] = {
    "crm_export_messy.csv": {"country_column": "Country"},
    "crm_export_latin1.csv": {"country_column": "Country"},
    "multi_group.csv": {"group_column": "segment"},
    "contacts.parquet": {"country_column": "country"},
}


def _samples() -> list[Any]:
    return [
        pytest.param(path, _SAMPLE_COLUMNS.get(path.name, {}), options, id=f"{path.name}-{i}")
        for path in sorted(SAMPLES.iterdir())
        if path.suffix in {".csv", ".parquet"}
        for i, options in enumerate([{}, {"default_region": "GB", "mobile_only": True}])
    ]


@pytest.mark.parametrize(("path", "load", "options"), _samples())
def test_normalize_is_the_same_with_or_without_it_on_the_samples(
    path: Path, load: dict[str, Any], options: dict[str, Any]
) -> None:
    frame = load_contacts(path, **load).frame

    fast = normalize(frame, **options)
    slow = normalize(frame, **options, _vectorized=False)

    assert_frame_equal(fast.valid, slow.valid)
    assert_frame_equal(fast.rejects, slow.rejects)


def test_describe_numbers_is_the_same_with_or_without_it() -> None:
    rng = random.Random(3)
    numbers = [
        f"+{number.country_code}{national}"
        for number, _ in examples()
        for national in [phonenumbers.national_significant_number(number)] * 2
        for national in [national, perturb(national, rng)]
    ]
    odd = ["+4407400123456", "+999123", "+12", "not a number", "+12015550123", None]
    series = pl.Series([*numbers, *odd], dtype=pl.String)

    assert_frame_equal(describe_numbers(series), describe_numbers(series, _vectorized=False))
