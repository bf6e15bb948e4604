"""describe_numbers() by block held to phonenumbers number by number: every region's and
non-geographic code's example numbers with their last digits redrawn (so that blocks form), the
ranges where one region's numbers end and another's begin, and stray trunk prefixes; then that a
uniform block costs one description, and the pattern copies the proof rests on."""

from __future__ import annotations

import random

import phonenumbers
import polars as pl
import pytest
from phonenumbers import PhoneMetadata, PhoneNumberType
from polars.testing import assert_frame_equal

from pipeline.phones import describe
from pipeline.phones.describe import _widen, describe_each, describe_numbers

phonenumbers.enable_pattern_cache()

TYPES = [kind for kind in PhoneNumberType.values() if kind != PhoneNumberType.UNKNOWN]
DESCS = ["fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number"]
DESCS += ["voip", "pager", "uan", "voicemail"]


def example_numbers() -> list[str]:
    """Every region's example number of every type and its invalid example, and each
    non-geographic code's examples, as `+` and digits."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            if (number := phonenumbers.example_number_for_type(region, kind)) is not None:
                found.append(number)
        if (invalid := phonenumbers.invalid_example_number(region)) is not None:
            found.append(invalid)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        metadata = PhoneMetadata.metadata_for_nongeo_region(code)
        for name in DESCS:
            if (desc := getattr(metadata, name)) is not None and desc.example_number:
                found.append(phonenumbers.parse(f"+{code}{desc.example_number}"))
    return sorted(
        {f"+{n.country_code}{phonenumbers.national_significant_number(n)}" for n in found}
    )


def redrawn(value: str, digits: int, count: int, rng: random.Random) -> list[str]:
    """`count` numbers that keep all but the value's last `digits` digits."""
    head = value[:-digits]
    return [head + f"{rng.randrange(10**digits):0{digits}d}" for _ in range(count)]


def corpus() -> list[str]:
    rng = random.Random(19)
    numbers = []
    for value in example_numbers():
        numbers += redrawn(value, 2, 6, rng) + redrawn(value, 4, 6, rng) + redrawn(value, 6, 4, rng)
        code = str(phonenumbers.parse(value).country_code)
        numbers += redrawn("+" + code + "0" + value[1 + len(code) :], 2, 4, rng)  # a trunk 0
    # Where GB's mobiles meet the Isle of Man's (leading digits 74576) and Jersey's (7509, 7700),
    # and NANPA codes of other regions than the US.
    for head in ["+4474576", "+447457", "+447509", "+44770", "+1264", "+1809", "+1242"]:
        numbers += [head + f"{k:0{12 - len(head)}d}" for k in rng.sample(range(10**4), 40)]
    return numbers


@pytest.mark.parametrize("min_block_size", [1, 8, describe._MIN_BLOCK_SIZE])
def test_blocks_answer_as_phonenumbers_does(
    monkeypatch: pytest.MonkeyPatch, min_block_size: int
) -> None:
    """With blocks of one number allowed, every width is tried on what the wider ones left."""
    monkeypatch.setattr(describe, "_MIN_BLOCK_SIZE", min_block_size)
    series = pl.Series([*corpus(), "+4407400123456", "+999123", "+12", "nonsense", None])

    assert_frame_equal(describe_numbers(series), describe_numbers(series, _vectorized=False))


def test_each_value_is_described_in_place() -> None:
    values = pl.Series(["+447400123456", None, "+12015550123", "+447400123456", "x"])

    assert describe_each(values).rows() == [
        ("GB", "MOBILE"),
        (None, None),
        ("US", "FIXED_LINE_OR_MOBILE"),
        ("GB", "MOBILE"),
        (None, None),
    ]


def test_a_uniform_block_is_described_once(monkeypatch: pytest.MonkeyPatch) -> None:
    described: list[str] = []
    real = describe._describe

    def counting(e164: str) -> tuple[str | None, str | None]:
        described.append(e164)
        return real(e164)

    monkeypatch.setattr(describe, "_describe", counting)
    monkeypatch.setattr(describe, "_describe_distinct", None)  # no number described alone
    describe._block_answer.cache_clear()
    numbers = pl.Series([f"+447400{k:06d}" for k in range(0, 10**6, 97)])

    first, again = describe_each(numbers), describe_each(numbers)

    assert described == ["+447400000000"]
    assert first.unique().rows() == again.unique().rows() == [("GB", "MOBILE")]


@pytest.mark.parametrize(
    ("pattern", "strict", "loose"),
    [
        (
            "^(?:7[0-46-9][0-9]{6})$",
            "^(?:7[0-46-9][0-9X]{6})$",
            "^(?:[7X][0-46-9X][0-9X]{6})$",
        ),
        ("^(?:0|180020)", "^(?:0|180020)", "^(?:[0X]|[1X][8X][0X][0X][2X][0X])"),
        ("^(?:[0-9]{2,3})?$", "^(?:[0-9X]{2,3})?$", "^(?:[0-9X]{2,3})?$"),
    ],
)
def test_pattern_copies_let_the_free_digits_through(pattern: str, strict: str, loose: str) -> None:
    assert (_widen(pattern, strict=True), _widen(pattern, strict=False)) == (strict, loose)


def test_a_pattern_outside_the_subset_is_not_copied() -> None:
    assert _widen(r"^(?:\s7)$", strict=True) is None
    assert _widen("^(?:[^7])$", strict=False) is None
