"""Which phone and country columns a file is read by when nobody names them, and what is said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import InvalidRegionError, MissingColumnError
from pipeline.load import describe_columns, load_contacts
from tests.test_sources import write


def csv(tmp_path: Path, header: str, *rows: str) -> Path:
    return write(tmp_path / "c.csv", "\n".join([header, *rows]) + "\n")


def columns(source: Path, **named: str) -> tuple[str, str | None]:
    result = load_contacts(source, **named)
    return result.phone_column, result.country_column


@dataclass(frozen=True)
class Options:
    """The options `describe_columns` reads, as `SyncOptions` carries them."""

    source: str | Path
    phone_column: str | None = None
    country_column: str | None = None
    default_region: str | None = None
    sheet: str | None = None


def test_mobile_column_wins_over_a_fuller_generic_phone_column(tmp_path: Path) -> None:
    source = csv(
        tmp_path,
        "Phone Number,Mobile Phone Number",
        "020 7946 0001,07400 100001",
        "020 7946 0002,",
        "020 7946 0003,07400 100003",
    )

    assert columns(source)[0] == "Mobile Phone Number"


def test_an_empty_mobile_column_does_not_hide_a_full_phone_column(tmp_path: Path) -> None:
    source = csv(tmp_path, "Mobile,Phone", ",07400 100001", ",07400 100002")

    assert columns(source)[0] == "Phone"


def test_among_phone_columns_the_one_with_most_numbers_wins(tmp_path: Path) -> None:
    source = csv(
        tmp_path,
        "Phone,Work Phone",
        "ask reception,07400 100001",
        ",07400 100002",
        "020 7946 0003,07400 100003",
    )

    assert columns(source)[0] == "Work Phone"


def test_among_mobile_columns_the_one_with_most_numbers_wins(tmp_path: Path) -> None:
    source = csv(tmp_path, "Mobile,Cell Phone", "n/a,07400 100001", "none,07400 100002")

    assert columns(source)[0] == "Cell Phone"


def test_columns_about_a_phone_but_not_holding_one_are_not_candidates(tmp_path: Path) -> None:
    source = csv(
        tmp_path,
        "Fax Number,Phone Type,Mobile Opt Out,Phone",
        "020 7946 0001,mobile,2024-01-02 10:00:00,07400 100001",
    )

    assert columns(source)[0] == "Phone"


def test_country_column_is_detected_when_its_values_are_countries(tmp_path: Path) -> None:
    source = csv(
        tmp_path,
        "Mobile,Country/Region",
        "07400 100001,United Kingdom",
        "0151 23456789,Germany",
        "07400 100002,United Kingdom",
    )

    assert columns(source) == ("Mobile", "Country/Region")


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("Country", ["North", "South", "North"]),
        ("Country", ["Narnia", "Atlantis", "GB"]),
        ("Region", ["1", "2", "3"]),
        ("Region", ["EMEA", "APAC", "EMEA"]),
    ],
)
def test_country_column_is_not_detected_when_its_values_are_not_countries(
    tmp_path: Path, header: str, values: list[str]
) -> None:
    source = csv(
        tmp_path, f"phone,{header}", *(f"07400 10000{i},{v}" for i, v in enumerate(values))
    )

    assert columns(source) == ("phone", None)


def test_a_column_named_region_is_detected_when_it_holds_countries(tmp_path: Path) -> None:
    source = csv(tmp_path, "phone,region", "07400 100001,GB", "0151 23456789,DE")

    assert columns(source) == ("phone", "region")


def test_a_detected_country_reads_the_national_numbers(tmp_path: Path) -> None:
    source = csv(tmp_path, "Mobile,Country", "07400 100001,UK", "0151 23456789,Deutschland")

    frame = load_contacts(source).frame

    assert frame.get_column("region_raw").to_list() == ["UK", "Deutschland"]


def test_a_real_country_wins_over_an_ip_country(tmp_path: Path) -> None:
    source = csv(tmp_path, "IP Country,phone,Country", "United States,07400 100001,United Kingdom")

    assert columns(source)[1] == "Country"


def test_the_line_says_detected_for_detected_columns(tmp_path: Path) -> None:
    source = csv(tmp_path, "Phone Number,Mobile Phone Number,Country/Region", ",07400 100001,UK")

    assert load_contacts(source).columns_line == (
        "phone column: 'Mobile Phone Number' (detected); country column: 'Country/Region' (detected)"
    )


def test_the_line_says_given_for_named_columns(tmp_path: Path) -> None:
    source = csv(tmp_path, "Phone,Mobile,Land", "020 7946 0001,07400 100001,GB")

    line = load_contacts(source, phone_column="phone", country_column="land").columns_line

    assert line == "phone column: 'Phone' (given); country column: 'Land' (given)"


def test_the_line_says_none_when_no_country_column_is_found(tmp_path: Path) -> None:
    source = csv(tmp_path, "name,phone", "Al,07400 100001")

    assert load_contacts(source).columns_line == (
        "phone column: 'phone' (detected); country column: none"
    )


def test_a_glob_whose_files_differ_lists_each_choice(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "Mobile\n07400 100001\n")
    write(tmp_path / "b.csv", "Phone,Country\n07400 100002,GB\n")

    line = load_contacts(str(tmp_path / "*.csv")).columns_line

    assert line == (
        "phone column: 'Mobile' (detected), 'Phone' (detected); "
        "country column: none, 'Country' (detected)"
    )


def test_parquet_columns_are_detected_by_the_same_rules(tmp_path: Path) -> None:
    source = tmp_path / "c.parquet"
    pl.DataFrame(
        {"phone": ["020 7946 0001"], "mobile": ["07400 100001"], "country": ["Germany"]}
    ).write_parquet(source)

    assert columns(source) == ("mobile", "country")


def test_describe_columns_says_before_loading_what_loading_reads(tmp_path: Path) -> None:
    source = csv(tmp_path, "Phone Number,Mobile Phone Number,Country/Region", ",07400 100001,UK")

    line = describe_columns(Options(source, default_region="uk"))

    assert line == load_contacts(source).columns_line + "; default region: GB"


def test_describe_columns_refuses_an_unknown_default_region_with_a_suggestion(
    tmp_path: Path,
) -> None:
    source = csv(tmp_path, "phone", "07400 100001")

    with pytest.raises(InvalidRegionError, match="did you mean GB"):
        describe_columns(Options(source, default_region="Untied Kingdom"))


def test_describe_columns_refuses_a_named_column_that_is_missing(tmp_path: Path) -> None:
    source = csv(tmp_path, "phone", "07400 100001")

    with pytest.raises(MissingColumnError, match="--country-column"):
        describe_columns(Options(source, country_column="Country"))


def test_the_named_group_column_is_never_taken_for_the_country(tmp_path: Path) -> None:
    source = csv(tmp_path, "phone,region", "07400 100001,GB", "0151 23456789,DE")

    result = load_contacts(source, group_column="region")

    assert result.country_column is None
    assert result.frame.get_column("group").to_list() == ["GB", "DE"]
