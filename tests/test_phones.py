"""Normalizing phone numbers: one test per cleaning rule and per reject reason, the cost contract
(phonenumbers once per distinct value), duplicate counts, enrichment, a round-trip property, and the
sample README's expectations."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import phonenumbers
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from pipeline import phones
from pipeline.errors import InvalidRegionError
from pipeline.load import RAW_SCHEMA, load_contacts
from pipeline.phones import Reason, clean, count_duplicates, describe_numbers, normalize
from pipeline.phones.rejects import REJECTS_SCHEMA
from pipeline.phones.schemas import Rejects

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def raw(
    values: list[str | None],
    regions: list[str | None] | None = None,
    groups: list[str | None] | None = None,
) -> pl.DataFrame:
    """A raw contacts frame as the loader makes it, line 2 onwards."""
    count = len(values)
    return pl.DataFrame(
        {
            "source_file": ["contacts.csv"] * count,
            "source_line": list(range(2, count + 2)),
            "phone_raw": values,
            "region_raw": regions or [None] * count,
            "group": groups or [None] * count,
        },
        schema=RAW_SCHEMA,
    )


def full_width(text: str) -> str:
    return text.translate({ord(ch): ord(ch) + 0xFEE0 for ch in "+0123456789"})


def one(value: str | None, region: str | None = None, **options: Any) -> phones.NormalizeResult:
    return normalize(raw([value], [region]), **options)


@pytest.mark.parametrize(
    ("value", "region", "default", "expected"),
    [
        pytest.param("07400 123456", None, "GB", "+447400123456", id="national-default-region"),
        pytest.param("0151 23456789", "DE", "GB", "+4915123456789", id="row-region-beats-default"),
        pytest.param("06 12 34 56 78", " fr ", None, "+33612345678", id="region-trimmed-any-case"),
        pytest.param("+44 7400 123456", None, None, "+447400123456", id="plus-prefix"),
        pytest.param("0044 7400 123456", None, None, "+447400123456", id="00-prefix-no-region"),
        pytest.param("0044 7400 123456", "GB", None, "+447400123456", id="00-prefix-gb"),
        pytest.param("00 44 7400 123456", "US", None, "+447400123456", id="00-where-exit-is-011"),
        pytest.param("0011 44 7400 123456", "AU", None, "+447400123456", id="au-exit-code-0011"),
        pytest.param("+44 (0)7400 123456", None, None, "+447400123456", id="trunk-0-in-brackets"),
        pytest.param("+44 07400 123456", None, None, "+447400123456", id="trunk-0-after-plus"),
        pytest.param("+39 (0)6 1234 5678", None, None, "+390612345678", id="italian-0-is-kept"),
        pytest.param("07400.123.456", "GB", None, "+447400123456", id="dots"),
        pytest.param("07400-123-456", "GB", None, "+447400123456", id="dashes"),
        pytest.param("07400\u2013123\u2013456", "GB", None, "+447400123456", id="en-dashes"),
        pytest.param("(201) 555-0123", "US", None, "+12015550123", id="brackets"),
        pytest.param("07400/123456", "GB", None, "+447400123456", id="slash"),
        pytest.param("\u00a007400\u00a0123456 ", "GB", None, "+447400123456", id="nbsp"),
        pytest.param(full_width("+447400123456"), None, None, "+447400123456", id="full-width"),
        pytest.param("tel:+44-7400-123456", None, None, "+447400123456", id="tel-uri"),
        pytest.param("TEL:+447400123456", None, None, "+447400123456", id="tel-upper-case"),
        pytest.param("'07400123456", "GB", None, "+447400123456", id="excel-text-apostrophe"),
        pytest.param('="+447400123459"', None, None, "+447400123459", id="excel-text-formula"),
        pytest.param('= "07400 123456"', "GB", None, "+447400123456", id="excel-formula-national"),
        pytest.param("447400123456.0", None, None, "+447400123456", id="float-cast-no-region"),
        pytest.param("447400123456.0", "GB", None, "+447400123456", id="float-cast-own-region"),
        pytest.param("447400123456", "US", None, "+447400123456", id="digits-lost-plus"),
        pytest.param("4915123456789", None, "GB", "+4915123456789", id="digits-other-country"),
        pytest.param("7400123456", "GB", None, "+447400123456", id="national-without-trunk-0"),
        pytest.param("+34 612 345 678", "España", None, "+34612345678", id="bad-region-intl"),
        pytest.param("612 345 678", "España", None, "+34612345678", id="region-local-name"),
        pytest.param("07400 123456", "United Kingdom", None, "+447400123456", id="region-name"),
    ],
)
def test_normalizes_to_e164(
    value: str, region: str | None, default: str | None, expected: str
) -> None:
    result = one(value, region, default_region=default)

    assert result.rejects.height == 0, result.rejects.to_dicts()
    assert result.valid.get_column("phone_e164").to_list() == [expected]


@pytest.mark.parametrize(
    ("value", "region", "options", "reason"),
    [
        pytest.param(None, "GB", {}, Reason.EMPTY, id="empty-null"),
        pytest.param("   ", "GB", {}, Reason.EMPTY, id="empty-blank"),
        pytest.param("-", "GB", {}, Reason.EMPTY, id="empty-placeholder-dash"),
        pytest.param("n/a", "GB", {}, Reason.NOT_A_NUMBER, id="not-a-number-text"),
        pytest.param("0800 FLOWERS", "GB", {}, Reason.NOT_A_NUMBER, id="not-a-number-vanity"),
        pytest.param("+44+7400123456", None, {}, Reason.NOT_A_NUMBER, id="not-a-number-plus"),
        pytest.param("+44 74", None, {}, Reason.TOO_SHORT, id="too-short"),
        pytest.param("555-0123", "US", {}, Reason.TOO_SHORT, id="too-short-no-area-code"),
        pytest.param("+44 7400 1234567890", None, {}, Reason.TOO_LONG, id="too-long"),
        pytest.param("+999 123 4567", None, {}, Reason.INVALID_COUNTRY_CODE, id="no-such-code"),
        pytest.param("07400 123456", "XX", {}, Reason.INVALID_COUNTRY_CODE, id="unknown-region"),
        pytest.param(
            "07400 123456", "Narnia", {}, Reason.INVALID_COUNTRY_CODE, id="region-unknown-name"
        ),
        pytest.param("07400 123456", None, {}, Reason.INVALID_COUNTRY_CODE, id="no-region"),
        pytest.param("07400 12345", "GB", {}, Reason.INVALID_NUMBER, id="invalid-number"),
        pytest.param("+44 1632 960123", None, {}, Reason.INVALID_NUMBER, id="unassigned-range"),
        pytest.param(
            "020 7946 0958", "GB", {"mobile_only": True}, Reason.NOT_MOBILE, id="not-mobile"
        ),
        pytest.param("4.4791112345E+11", None, {}, Reason.EXCEL_DAMAGED, id="excel-scientific"),
        pytest.param("4,47911E+11", "FR", {}, Reason.EXCEL_DAMAGED, id="excel-decimal-comma"),
        pytest.param("4.47E11", None, {}, Reason.EXCEL_DAMAGED, id="excel-no-sign"),
        pytest.param("+44 20 7946 0958 ext. 204", None, {}, Reason.HAS_EXTENSION, id="ext-dot"),
        pytest.param("020 7946 0958 x204", "GB", {}, Reason.HAS_EXTENSION, id="ext-x"),
        pytest.param("020 7946 0958 #204", "GB", {}, Reason.HAS_EXTENSION, id="ext-hash"),
        pytest.param("+1-201-555-0123;ext=12", None, {}, Reason.HAS_EXTENSION, id="ext-rfc3966"),
        pytest.param("020 7946 0958 extension 2", "GB", {}, Reason.HAS_EXTENSION, id="ext-word"),
    ],
)
def test_rejects_with_reason(
    value: str | None, region: str | None, options: dict[str, Any], reason: Reason
) -> None:
    result = one(value, region, **options)

    assert result.valid.height == 0
    assert result.rejects.get_column("reason").to_list() == [reason.value]
    assert result.rejects.get_column("detail").str.len_chars().item() > 10


def test_mobile_only_keeps_numbers_typed_fixed_line_or_mobile() -> None:
    result = one("+1 201 555 0123", mobile_only=True)

    assert result.valid.get_column("phone_e164").to_list() == ["+12015550123"]


def test_unknown_region_detail_names_the_value() -> None:
    detail = one("07400 123456", "Narnia").rejects.get_column("detail").item()

    assert "'Narnia'" in detail


def test_default_region_must_be_a_country_it_recognises() -> None:
    with pytest.raises(InvalidRegionError, match="'Narnia'"):
        normalize(raw(["07400 123456"]), default_region="Narnia")


def test_every_row_is_valid_or_rejected_with_its_location() -> None:
    values = ["07400 123456", None, "n/a", "+44 7400 123457", "4.4E11", "+999 1"]

    result = normalize(raw(values), default_region="GB")

    assert result.rows == len(values)
    assert result.valid_count == 2
    assert result.rejected_count == 4
    lines = pl.concat([result.valid["source_line"], result.rejects["source_line"]])
    assert sorted(lines) == list(range(2, 8))
    assert result.rejects.schema == REJECTS_SCHEMA
    Rejects.validate(result.rejects)
    assert result.by_reason == {
        "empty": 1,
        "excel_damaged": 1,
        "invalid_country_code": 1,
        "not_a_number": 1,
    }


def test_valid_rows_keep_every_input_column_and_add_region_and_e164() -> None:
    frame = raw(["07400 123456"], ["gb"], ["VIP"]).with_columns(pl.lit("Al").alias("name"))

    valid = normalize(frame).valid

    assert valid.columns == [*frame.columns, "region", "phone_e164"]
    assert valid.row(0, named=True) == {
        "source_file": "contacts.csv",
        "source_line": 2,
        "phone_raw": "07400 123456",
        "region_raw": "gb",
        "group": "VIP",
        "name": "Al",
        "region": "GB",
        "phone_e164": "+447400123456",
    }


def test_rows_keep_their_input_order() -> None:
    values = [f"07400 1000{i:02d}" for i in range(40)]

    valid = normalize(raw(values), default_region="GB").valid

    assert valid.get_column("phone_raw").to_list() == values


def test_empty_frame_normalizes_to_empty_frames() -> None:
    result = normalize(raw([]), default_region="GB")

    assert result.valid.height == 0
    assert result.rejects.schema == REJECTS_SCHEMA


@pytest.mark.parametrize(
    ("vectorized", "parsed"),
    [(False, ["+447400123456", "07400123456"]), (True, [])],
    ids=["phonenumbers", "vectorized"],
)
def test_phonenumbers_runs_once_per_distinct_value_not_per_row(
    monkeypatch: pytest.MonkeyPatch, vectorized: bool, parsed: list[str]
) -> None:
    calls: list[str] = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, region: str | None = None) -> phonenumbers.PhoneNumber:
        calls.append(number)
        return real_parse(number, region)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    spellings = ["07400 123456", "07400-123-456", "+44 7400 123456", "0044 7400 123456"]
    # A number with its country code reads the same in any region: one key, whatever the row says.
    international = ["+44 7400 123456", "+447400123456"]

    result = normalize(
        raw(spellings * 500 + international * 2, [None] * 2000 + ["US", "DE", "FR", None]),
        default_region="GB",
        _vectorized=vectorized,
    )

    assert result.valid_count == 2004
    assert sorted(calls) == parsed
    assert result.distinct_values == 2
    assert result.distinct_parsed == len(parsed)


def test_phonenumbers_reads_only_what_the_vectorized_reading_leaves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, str | None]] = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, region: str | None = None) -> phonenumbers.PhoneNumber:
        calls.append((number, region))
        return real_parse(number, region)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    # Australia's exit code 0011 is not 00, so the cleaning leaves it; reading it is left to
    # phonenumbers, which strips it as an exit code.
    values = ["0011 44 7400 123456", "+44 7400 123456", "07400 123456"] * 3

    result = normalize(raw(values, ["AU", None, "GB"] * 3))

    assert result.valid.get_column("phone_e164").unique().to_list() == ["+447400123456"]
    assert calls == [("0011447400123456", "AU")]
    assert (result.distinct_values, result.distinct_parsed) == (3, 1)


def test_spellings_of_one_number_are_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """By phonenumbers, when it reads them (here all of them)."""
    validated: list[phonenumbers.PhoneNumber] = []
    real_is_valid = phonenumbers.is_valid_number

    def counting_is_valid(number: phonenumbers.PhoneNumber) -> bool:
        validated.append(number)
        return real_is_valid(number)

    monkeypatch.setattr(phonenumbers, "is_valid_number", counting_is_valid)

    result = normalize(
        raw(["07400 123456", "+447400123456", "447400123456.0"]),
        default_region="GB",
        _vectorized=False,
    )

    assert result.distinct_parsed == 3
    assert len(validated) == 1


def test_output_that_breaks_the_contacts_schema_becomes_a_reject(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(phonenumbers, "format_number", lambda number, fmt: "+0broken")

    # Breaking phonenumbers breaks only what phonenumbers reads: all of it, here.
    result = normalize(raw(["07400 123456"]), default_region="GB", _vectorized=False)

    assert result.valid.height == 0
    assert result.rejects.get_column("reason").to_list() == ["invalid_number"]
    assert "phone_e164=+0broken" in result.rejects.get_column("detail").item()


def test_one_person_spelled_differently_within_a_group_counts_as_duplicates() -> None:
    spellings = ["07400 123456", "+44 (0)7400 123456", "0044 7400-123-456", "07400 999999"]
    valid = normalize(raw(spellings, groups=["VIP"] * 4), default_region="GB").valid

    assert count_duplicates(valid) == 2


def test_the_same_number_in_different_groups_is_no_duplicate() -> None:
    valid = normalize(
        raw(["07400 123456", "+447400123456"], groups=["VIP", "Newsletter"]), default_region="GB"
    ).valid

    assert count_duplicates(valid) == 0


def test_duplicates_by_number_alone_ignore_groups() -> None:
    valid = normalize(
        raw(["07400 123456", "+447400123456"], groups=["VIP", "Newsletter"]), default_region="GB"
    ).valid

    assert count_duplicates(valid, by=["phone_e164"]) == 1


@pytest.mark.parametrize(
    ("vectorized", "parses"), [(False, 3), (True, 0)], ids=["phonenumbers", "vectorized"]
)
def test_describe_numbers_gives_country_and_type_once_per_distinct_number(
    monkeypatch: pytest.MonkeyPatch, vectorized: bool, parses: int
) -> None:
    calls: list[str] = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, region: str | None = None) -> phonenumbers.PhoneNumber:
        calls.append(number)
        return real_parse(number, region)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    numbers = pl.Series(["+447400123456", "+12015550123", None, "+447400123456", "+442079460958"])

    described = describe_numbers(numbers, _vectorized=vectorized)

    assert described.rows() == [
        ("+447400123456", "GB", "MOBILE"),
        ("+12015550123", "US", "FIXED_LINE_OR_MOBILE"),
        ("+442079460958", "GB", "FIXED_LINE"),
    ]
    assert len(calls) == parses


# --- the round-trip property --------------------------------------------------------------------

_EXAMPLES = [
    (region, kind, number)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)
    for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
    if (number := phonenumbers.example_number_for_type(region, kind)) is not None
]


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A valid number near a region's example number (its last three digits redrawn)."""
    region, _, example = draw(st.sampled_from(_EXAMPLES))
    tail = draw(st.integers(min_value=0, max_value=999))
    number = phonenumbers.PhoneNumber(
        country_code=example.country_code,
        national_number=example.national_number // 1000 * 1000 + tail,
        italian_leading_zero=example.italian_leading_zero,
        number_of_leading_zeros=example.number_of_leading_zeros,
    )
    assume(phonenumbers.is_valid_number_for_region(number, region))
    return region, number


@settings(max_examples=150, deadline=None)
@given(valid_numbers())
def test_every_spelling_of_a_valid_number_normalizes_to_the_same_e164(
    drawn: tuple[str, phonenumbers.PhoneNumber],
) -> None:
    region, number = drawn
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    spellings = [
        (e164, None),
        (international, None),
        (international.replace(" ", "-"), None),
        (international.replace(" ", "."), None),
        ("00" + international[1:], None),
        ("00" + international[1:], region),
        (phonenumbers.format_number(number, PhoneNumberFormat.RFC3966), None),
        (full_width(e164), None),
        (e164[1:], None),
        (e164[1:] + ".0", None),
        (national, region),
        (national.replace(" ", ""), region),
    ]

    result = normalize(raw([s for s, _ in spellings], [r for _, r in spellings]))

    assert result.rejects.height == 0, result.rejects.to_dicts()
    assert set(result.valid.get_column("phone_e164")) == {e164}


# --- the sample README's table ---------------------------------------------------------------

_ROW = re.compile(r"^\| `(?P<file>[^`]+)` \|(?P<cells>.*)\|$")
_OPTION = re.compile(r'`(\w+)=(?:"([^"]*)"|(True|False))`')


def _options(cell: str) -> dict[str, str | bool]:
    return {
        key: text if flag == "" else flag == "True" for key, text, flag in _OPTION.findall(cell)
    }


def _reasons(cell: str) -> dict[str, int]:
    pairs = (part.split() for part in cell.split(",") if part.strip())
    return {reason: int(count) for reason, count in pairs}


def _expectations() -> list[Any]:
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Expected outcomes", 1)[1]
    cases = []
    for line in table.splitlines():
        match = _ROW.match(line.strip())
        if match:
            load, norm, rows, valid, rejected, duplicates = (
                cell.strip() for cell in match["cells"].split("|")
            )
            expected = (int(rows), int(valid), _reasons(rejected), int(duplicates))
            case = (match["file"], _options(load), _options(norm), expected)
            cases.append(pytest.param(*case, id=f"{match['file']}-{norm}"))
    return cases


def test_readme_table_lists_every_sample_file() -> None:
    listed = {case.values[0] for case in _expectations()}

    assert listed == {p.name for p in SAMPLES.iterdir() if p.suffix in {".csv", ".parquet"}}


@pytest.mark.parametrize(("file", "load", "options", "expected"), _expectations())
def test_sample_outcome_matches_the_readme(
    file: str,
    load: dict[str, Any],
    options: dict[str, Any],
    expected: tuple[int, int, dict[str, int], int],
) -> None:
    frame = load_contacts(SAMPLES / file, **load).frame
    result = normalize(frame, **options)
    duplicates = count_duplicates(result.valid)

    assert (result.rows, result.valid_count, result.by_reason, duplicates) == expected


def test_the_separators_are_the_regex_class_they_replace() -> None:
    """`_SEPARATORS` spells out, character by character, `[\\s.\\-\\u2010-\\u2015()\\[\\]/']` as
    polars' regex engine reads it (`\\s` being Unicode's White_Space)."""
    characters = pl.Series([chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF])

    matched = characters.filter(characters.str.contains(r"^[\s.\-\u2010-\u2015()\[\]/']$"))

    assert sorted(matched) == sorted(clean._SEPARATORS)
