"""phonenumbers' one-value-at-a-time reading (`pipeline.phones.reader`): the verdict codes, and
the same outcomes whether the values are read here or spread over worker processes."""

from __future__ import annotations

import random

import pytest
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from pipeline.phones import reader


@pytest.mark.parametrize(
    ("verdict", "decoded"),
    [
        (reader.PARSE_FAILED + NumberParseException.TOO_LONG, ("parse_failed", 4, 0)),
        (reader.NO_REGION, ("no_region", 0, 0)),
        (reader.invalid(44, ValidationResult.TOO_SHORT), ("invalid", 44, 2)),
        (reader.invalid(998, ValidationResult.IS_POSSIBLE), ("invalid", 998, 0)),
        (reader.not_mobile(1, PhoneNumberType.FIXED_LINE), ("not_mobile", 1, 0)),
        (reader.not_mobile(979, PhoneNumberType.VOICEMAIL), ("not_mobile", 979, 10)),
        (3, ("rule", 3, 0)),
    ],
)
def test_verdicts_decode_to_what_encoded_them(verdict: int, decoded: tuple[str, int, int]) -> None:
    assert reader.decode(verdict) == decoded


def test_worker_processes_read_exactly_what_this_process_reads() -> None:
    rng = random.Random(5)
    # Australia's exit code is a pattern, so these are read by phonenumbers one by one.
    pairs: list[tuple[str, str | None]] = [
        (f"0011447400{rng.randrange(10**6):06d}", "AU") for _ in range(reader.PARALLEL_FROM)
    ]
    pairs += [("07400123456", None), ("+999123", None), ("2015550123", "US")]

    spread = reader.read_all(pairs, mobile_only=True)

    assert spread == reader._read_chunk(pairs, mobile_only=True)


def test_a_worker_process_answers_for_its_share() -> None:
    pairs: list[tuple[str, str | None]] = [("07400123456", "GB"), ("+999123", None), ("1", "US")]

    assert reader._read_in_worker(pairs, mobile_only=False) == reader._read_chunk(pairs, False)
