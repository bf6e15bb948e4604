"""The private phonenumbers names `pipeline.phones` mirrors exist and behave as it uses them.

They are imported straight from phonenumbers, not through `pipeline.phones`, so that the day a
phonenumbers release moves or changes one, this file fails and names it.
"""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import NumberParseException, PhoneMetadata, ValidationResult
from phonenumbers.phonenumberutil import (
    _MAX_INPUT_STRING_LENGTH,
    _MAX_LENGTH_FOR_NSN,
    _MIN_LENGTH_FOR_NSN,
    _test_number_length,
)

from pipeline.phones import phonenumbers_private


def parse_error(value: str) -> int | None:
    try:
        phonenumbers.parse(value, None)
    except NumberParseException as exc:
        return exc.error_type
    return None


def test_the_guard_hands_on_phonenumbers_own_objects() -> None:
    assert phonenumbers_private.MAX_INPUT_STRING_LENGTH is _MAX_INPUT_STRING_LENGTH
    assert phonenumbers_private.MAX_LENGTH_FOR_NSN is _MAX_LENGTH_FOR_NSN
    assert phonenumbers_private.MIN_LENGTH_FOR_NSN is _MIN_LENGTH_FOR_NSN
    assert phonenumbers_private.number_length_result is _test_number_length


def test_the_length_limits_are_the_ones_parse_applies() -> None:
    assert isinstance(_MAX_INPUT_STRING_LENGTH, int)
    assert isinstance(_MIN_LENGTH_FOR_NSN, int)
    assert isinstance(_MAX_LENGTH_FOR_NSN, int)
    assert _MIN_LENGTH_FOR_NSN < _MAX_LENGTH_FOR_NSN < _MAX_INPUT_STRING_LENGTH

    # `numbering` refuses national numbers outside [_MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN]
    # as phonenumbers does, and leaves values longer than _MAX_INPUT_STRING_LENGTH to it.
    too_short, shortest = "2" * (_MIN_LENGTH_FOR_NSN - 1), "2" * _MIN_LENGTH_FOR_NSN
    longest, too_long = "2" * _MAX_LENGTH_FOR_NSN, "2" * (_MAX_LENGTH_FOR_NSN + 1)
    assert parse_error("+44" + too_short) == NumberParseException.TOO_SHORT_NSN
    assert parse_error("+44" + shortest) is None
    assert parse_error("+44" + longest) is None
    assert parse_error("+44" + too_long) == NumberParseException.TOO_LONG
    padding = " " * (_MAX_INPUT_STRING_LENGTH - len("+12015550123"))
    assert parse_error("+1" + padding + "2015550123") is None
    assert parse_error("+1 " + padding + "2015550123") == NumberParseException.TOO_LONG


@pytest.mark.parametrize("region", ["GB", "US", "DE", "IT", "AU", "BR", "IN", "001"])
def test_number_length_takes_digits_and_metadata_and_answers_a_validation_result(
    region: str,
) -> None:
    """`plans` calls it as `_test_number_length("0" * length, metadata)` for every length up to
    `_MAX_INPUT_STRING_LENGTH`, and reads the answer as `is_possible_number_with_reason` would."""
    metadata = (
        PhoneMetadata.metadata_for_nongeo_region(800)
        if region == "001"
        else PhoneMetadata.metadata_for_region(region)
    )
    results = {
        length: _test_number_length("0" * length, metadata)
        for length in range(_MAX_INPUT_STRING_LENGTH + 1)
    }

    assert set(results.values()) <= set(ValidationResult.__dict__.values())
    assert results[0] == ValidationResult.TOO_SHORT
    assert results[_MAX_INPUT_STRING_LENGTH] == ValidationResult.TOO_LONG
    for length in metadata.general_desc.possible_length:
        assert results[length] == ValidationResult.IS_POSSIBLE


@pytest.mark.parametrize("e164", ["+447400123456", "+12015550123", "+390612345678", "+80012345678"])
def test_number_length_agrees_with_is_possible_number_with_reason(e164: str) -> None:
    number = phonenumbers.parse(e164)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        number.country_code, phonenumbers.region_code_for_number(number)
    )

    assert _test_number_length(
        phonenumbers.national_significant_number(number), metadata
    ) == phonenumbers.is_possible_number_with_reason(number)
