"""MSISDN input rules: accepted formats, stored digits, and what is rejected (verbatim)."""

from __future__ import annotations

import httpx
import pytest

from sinch_emulator.exceptions import InvalidMsisdnError
from sinch_emulator.msisdn import normalize_msisdn, normalize_msisdns

from .helpers import GROUPS, assert_error, create_group, members_of


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("+447911123456", "447911123456"),
        ("00447911123456", "447911123456"),
        ("447911123456", "447911123456"),
        ("+44 7911 123456", "447911123456"),
        ("+44-7911-123-456", "447911123456"),
        ("(+1) 201.888.1111", "12018881111"),
        ("[+46] 70-123 45 67", "46701234567"),
        ("+1 2345678", "12345678"),
        ("+123456789012345", "123456789012345"),
        ("+8821234567", "8821234567"),
    ],
)
def test_accepted_formats_become_digits(raw: str, digits: str) -> None:
    assert normalize_msisdn(raw) == digits


@pytest.mark.parametrize(
    "raw",
    [
        "+12ab",
        "",
        "+",
        "+123456",
        "+1234567890123456",
        "+0447911123456",
        "0447911123456",
        "000447911123456",
        "+2807911123456",
        "+447911123456 ext 2",
        "+44/7911123456",
        "++447911123456",
        "+٤٤٧٩١١١٢٣٤٥٦",
    ],
)
def test_implausible_numbers_are_rejected_by_name(raw: str) -> None:
    with pytest.raises(InvalidMsisdnError) as caught:
        normalize_msisdn(raw)

    assert caught.value.value == raw
    assert caught.value.text == f"Invalid MSISDN '{raw}'"
    assert caught.value.code == "syntax_invalid_parameter_format"


def test_refused_numbers_are_rejected_as_sent() -> None:
    with pytest.raises(InvalidMsisdnError) as caught:
        normalize_msisdns(["+12018881111", "+1 201 888 2222"], frozenset({"12018882222"}))

    assert caught.value.value == "+1 201 888 2222"


async def test_api_stores_digits_for_every_format(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(
        emulator_http,
        members=[
            "+12018881111",
            "0012018881111",
            "1 (201) 888-1111",
            "1.201.888.1111",
            "+12018882222",
        ],
    )

    assert group["size"] == 2
    assert await members_of(emulator_http, group["id"]) == ["12018881111", "12018882222"]


async def test_api_error_names_the_value_verbatim(emulator_http: httpx.AsyncClient) -> None:
    response = await emulator_http.post(GROUPS, json={"members": ["+12018881111", "+12ab"]})

    body = assert_error(response, 400, "syntax_invalid_parameter_format")
    assert body["text"] == "Invalid MSISDN '+12ab'"
