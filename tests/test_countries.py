"""Country cells as CRM exports write them: ISO codes, names, local spellings, dialling codes."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.errors import InvalidRegionError
from pipeline.phones import normalize
from pipeline.phones.countries import check_region, region_of, resolve_region
from tests.test_phones import raw


@pytest.mark.parametrize(
    ("cell", "region"),
    [
        ("United Kingdom", "GB"),
        ("Germany", "DE"),
        ("united states", "US"),
        ("FRANCE", "FR"),
        ("España", "ES"),
        ("Espana", "ES"),
        ("Côte d'Ivoire", "CI"),
        ("Republic of Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("The Netherlands", "NL"),
        ("Bosnia & Herzegovina", "BA"),
        ("St. Lucia", "LC"),
    ],
)
def test_english_names_read_ignoring_case_accents_and_punctuation(cell: str, region: str) -> None:
    assert resolve_region(cell) == region


@pytest.mark.parametrize(
    ("cell", "region"),
    [
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Deutschland", "DE"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States of America", "US"),
        ("Schweiz", "CH"),
        ("Österreich", "AT"),
        ("Holland", "NL"),
    ],
)
def test_common_and_local_names_read_through_the_alias_table(cell: str, region: str) -> None:
    assert resolve_region(cell) == region


@pytest.mark.parametrize(
    ("cell", "region"),
    [("GB", "GB"), ("gb", "GB"), ("GBR", "GB"), ("deu", "DE"), ("FRA", "FR"), (" us ", "US")],
)
def test_iso_alpha_2_and_alpha_3_codes_read_in_any_case(cell: str, region: str) -> None:
    assert resolve_region(cell) == region


@pytest.mark.parametrize(
    ("cell", "region"),
    [("44", "GB"), ("+44", "GB"), ("0044", "GB"), ("+49", "DE"), ("1", "US"), ("+7", "RU")],
)
def test_dialling_codes_read_as_the_main_region_of_the_code(cell: str, region: str) -> None:
    assert resolve_region(cell) == region


def test_excel_text_formula_around_a_country_is_unwrapped() -> None:
    assert resolve_region('="GB"') == "GB"


@pytest.mark.parametrize("cell", ["Narnia", "N/A", "XX", "", "Europe", "999"])
def test_what_names_no_country_resolves_to_nothing(cell: str) -> None:
    assert resolve_region(cell) is None


def test_a_column_resolves_row_by_row_with_nulls_kept() -> None:
    cells = ["United Kingdom", "DE", None, "Narnia", "+1", "United Kingdom"] * 1_000

    regions = pl.DataFrame({"c": cells}).select(region_of(pl.col("c"))).to_series()

    assert regions.to_list() == ["GB", "DE", None, None, "US", "GB"] * 1_000


def test_national_numbers_read_in_the_country_a_name_gives() -> None:
    result = normalize(
        raw(
            ["07400 123456", "0151 23456789", "(201) 555-0123", "07400 123457"],
            ["United Kingdom", "Deutschland", "United States of America", "+44"],
        )
    )

    assert result.rejects.height == 0, result.rejects.to_dicts()
    assert result.valid.select("region", "phone_e164").rows() == [
        ("GB", "+447400123456"),
        ("DE", "+4915123456789"),
        ("US", "+12015550123"),
        ("GB", "+447400123457"),
    ]


def test_many_rows_with_few_spellings_all_resolve() -> None:
    spellings = ["United Kingdom", "UK", "GBR", "England", "+44"]

    result = normalize(raw(["07400 123456"] * 5_000, spellings * 1_000))

    assert result.valid_count == 5_000
    assert result.valid.get_column("phone_e164").unique().to_list() == ["+447400123456"]


@pytest.mark.parametrize(
    ("given", "region"),
    [("UK", "GB"), ("gb", "GB"), ("United Kingdom", "GB"), ("+49", "DE"), ("DEU", "DE")],
)
def test_default_region_accepts_the_same_spellings(given: str, region: str) -> None:
    assert check_region(given) == region


def test_default_region_uk_reads_national_numbers_as_gb() -> None:
    result = normalize(raw(["07400 123456"], [None]), default_region="UK")

    assert result.valid.get_column("phone_e164").to_list() == ["+447400123456"]


@pytest.mark.parametrize(
    ("given", "suggestion"),
    [("Untied Kingdom", "GB"), ("Germny", "DE"), ("Deutchland", "DE"), ("Frnace", "FR")],
)
def test_unknown_default_region_suggests_the_nearest(given: str, suggestion: str) -> None:
    with pytest.raises(InvalidRegionError, match=f"did you mean {suggestion}\\?"):
        check_region(given)


def test_unknown_default_region_with_nothing_near_says_what_is_accepted() -> None:
    with pytest.raises(InvalidRegionError, match="ISO 3166 code") as caught:
        check_region("Qwxyz")

    assert "did you mean" not in str(caught.value)
