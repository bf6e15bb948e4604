"""MSISDN input rules: what the API accepts as a phone number and the digits it stores.

Accepted: a leading `+`, a leading `00` or neither; spaces, dashes, brackets and dots are ignored.
Stored and returned: digits only. Rejected (`Invalid MSISDN '<value as sent>'`): anything with
other characters left, fewer than 7 or more than 15 digits, a leading 0 after the prefix, or a
country code ITU never assigned. This is a plausibility check, not a numbering-plan check: it
must stay cheap enough for a million numbers, so there is no full `phonenumbers` parse per number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from .constants import MSISDN_MAX_DIGITS, MSISDN_MIN_DIGITS
from .exceptions import InvalidMsisdnError

_IGNORED = str.maketrans("", "", " -()[].")
_PLAUSIBLE = re.compile(
    rf"(?:\+|00)?([1-9][0-9]{{{MSISDN_MIN_DIGITS - 1},{MSISDN_MAX_DIGITS - 1}}})"
)
_COUNTRY_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)
"""E.164 country codes are prefix-free, so a number starts with at most one of them."""


def normalize_msisdn(value: str) -> str:
    """Return the digits-only form of `value`, or raise `InvalidMsisdnError` naming it.

    Most clients send plain E.164, so separators are only stripped when that fails to match
    (it halves the cost per number).
    """
    match = _PLAUSIBLE.fullmatch(value) or _PLAUSIBLE.fullmatch(value.translate(_IGNORED))
    if match is None:
        raise InvalidMsisdnError(value)
    digits = match.group(1)
    if not (
        digits[:1] in _COUNTRY_CODES or digits[:2] in _COUNTRY_CODES or digits[:3] in _COUNTRY_CODES
    ):
        raise InvalidMsisdnError(value)
    return digits


def address_key(value: str) -> str:
    """The form in which two SMS addresses (an inbound's `to`, a group's `auto_update.to`) compare.

    A plausible MSISDN becomes its digits, so `+1 555-123-1234` and `0015551231234` are one number.
    Anything else (a short code such as `12345`, which the API takes as `auto_update.to` unchecked)
    only loses the separators and the `+`/`00` prefix the input rules ignore, instead of being an
    error: a short-code keyword campaign is what `auto_update` is typically set up with.
    """
    try:
        return normalize_msisdn(value)
    except InvalidMsisdnError:
        bare = value.translate(_IGNORED)
        return bare.removeprefix("+") if bare.startswith("+") else bare.removeprefix("00")


def normalize_msisdns(values: Iterable[str], refused: frozenset[str] = frozenset()) -> list[str]:
    """Normalize a whole array, failing on the first implausible or `refused` number.

    `refused` holds digits-only numbers the plan will not take (a fault injected on purpose);
    the error names the value as the client sent it, exactly like an implausible number.
    """
    digits: list[str] = []
    for value in values:
        number = normalize_msisdn(value)
        if number in refused:
            raise InvalidMsisdnError(value)
        digits.append(number)
    return digits
