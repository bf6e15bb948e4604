"""The stage contracts: what each model accepts, and bad rows moved aside instead of stopping."""

from __future__ import annotations

import polars as pl
import pytest
from pandera.errors import SchemaErrors

from pipeline.phones.rejects import REJECTS_SCHEMA, Reason
from pipeline.phones.schemas import Contacts, RawContacts, Rejects, validate_lazily


def contacts(**overrides: list[object]) -> pl.DataFrame:
    columns: dict[str, list[object]] = {
        "source_file": ["a.csv", "a.csv", "a.csv"],
        "source_line": [2, 3, 4],
        "phone_raw": ["07400 100001", "07400 100002", "07400 100003"],
        "region_raw": ["GB", None, "gb"],
        "group": ["VIP", None, "VIP"],
        "region": ["GB", "GB", "GB"],
        "phone_e164": ["+447400100001", "+447400100002", "+447400100003"],
    }
    columns.update(overrides)
    schema = {name: pl.Int64 if name == "source_line" else pl.String for name in columns}
    return pl.DataFrame(columns, schema=schema)


def rejects(**overrides: list[object]) -> pl.DataFrame:
    columns: dict[str, list[object]] = {
        "source_file": ["a.csv", "a.csv"],
        "source_line": [2, 3],
        "raw_value": ["n/a", None],
        "region": [None, "GB"],
        "reason": ["not_a_number", "empty"],
        "detail": ["text", "the phone cell is empty"],
    }
    columns.update(overrides)
    return pl.DataFrame(columns, schema=REJECTS_SCHEMA)


def test_contacts_accept_good_rows_and_extra_columns() -> None:
    frame = contacts().with_columns(pl.lit("x").alias("name"))

    good, failures = validate_lazily(Contacts, frame)

    assert good.equals(frame)
    assert failures.height == 0
    assert failures.schema == REJECTS_SCHEMA


def test_every_bad_row_is_moved_aside_not_just_the_first() -> None:
    frame = contacts(phone_e164=["+447400100001", "07400100002", "+0123"])

    good, failures = validate_lazily(Contacts, frame)

    assert good.get_column("source_line").to_list() == [2]
    assert failures.select("source_line", "raw_value", "reason").rows() == [
        (3, "07400 100002", "invalid_number"),
        (4, "07400 100003", "invalid_number"),
    ]
    Rejects.validate(failures)


def test_failure_detail_names_every_failed_check_of_the_row() -> None:
    frame = contacts(region=["GB", "GB", "gb"], phone_e164=["+447400100001", "+447400100002", "x"])

    _, failures = validate_lazily(Contacts, frame)

    detail = failures.get_column("detail").item()
    assert "phone_e164=x fails str_matches" in detail
    assert "region=gb fails str_matches" in detail


def test_e164_pattern_refuses_non_ascii_digits() -> None:
    frame = contacts(
        phone_e164=["+447400100001", "+44\u0667\u0664\u0660\u0660100002", "+447400100003"]
    )

    _, failures = validate_lazily(Contacts, frame)

    assert failures.get_column("source_line").to_list() == [3]


def test_null_e164_is_a_failed_row() -> None:
    _, failures = validate_lazily(
        Contacts, contacts(phone_e164=["+447400100001", None, "+447400100003"])
    )

    assert failures.get_column("detail").to_list() == ["phone_e164=null fails not_nullable"]


def test_failure_reason_and_raw_column_are_the_callers() -> None:
    frame = rejects(reason=["not_a_number", "made_up"])

    good, failures = validate_lazily(
        Rejects, frame, raw_column="raw_value", reason=Reason.NOT_A_NUMBER
    )

    assert good.height == 1
    assert failures.select("raw_value", "reason").rows() == [(None, "not_a_number")]


def test_frame_level_failure_is_raised_not_turned_into_rejects() -> None:
    with pytest.raises(SchemaErrors):
        validate_lazily(Contacts, contacts().drop("phone_e164"))


def test_raw_contacts_refuse_extra_columns() -> None:
    frame = contacts().drop("region", "phone_e164")
    RawContacts.validate(frame)

    with pytest.raises(SchemaErrors):
        validate_lazily(RawContacts, frame.with_columns(pl.lit(1).alias("extra")))


def test_raw_contacts_refuse_a_source_line_of_another_integer_type() -> None:
    frame = (
        contacts().drop("region", "phone_e164").with_columns(pl.col("source_line").cast(pl.Int32))
    )

    with pytest.raises(SchemaErrors, match="Int32"):
        RawContacts.validate(frame, lazy=True)


def test_raw_contacts_allow_null_phone_region_and_group() -> None:
    frame = contacts(phone_raw=[None, None, None], region_raw=[None] * 3, group=[None] * 3)

    RawContacts.validate(frame.drop("region", "phone_e164"))


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_rejects_accept_every_reason_code(reason: Reason) -> None:
    Rejects.validate(rejects(reason=[reason.value, reason.value]))


def test_rejects_catch_unknown_reasons_and_line_zero_lazily() -> None:
    frame = rejects(reason=["not_a_number", "bogus"], source_line=[0, 3])

    with pytest.raises(SchemaErrors) as caught:
        Rejects.validate(frame, lazy=True)

    failed = set(caught.value.failure_cases.get_column("check").to_list())
    assert any(check.startswith("isin") for check in failed)
    assert any(check.startswith("greater_than_or_equal_to") for check in failed)
