"""phonenumbers' reading of cleaned phone values, one value at a time, in one process or several.

`normalize` decides most values at once with `numbering`; the few it leaves come here. This
module imports nothing but phonenumbers and the standard library, and its worker processes run
it as a script, so that one starts in a fraction of a second: importing the `pipeline.phones`
package (polars, pandera) would cost most of a second per worker.

An outcome is `(e164, verdict)`: the E.164 form of a usable number, or a verdict, one integer that
says why the value is not usable. A million rows then carry an integer column rather than two
text columns, and `verdicts` writes the reason and the detail once per distinct verdict. The
verdict codes:

- below `PARSE_FAILED`: the cleaning's own rules (`clean`), decided from the text before any
  reading;
- `PARSE_FAILED + error_type`: `phonenumbers.parse` raised `NumberParseException(error_type)`;
- `NO_REGION`: no country code and no region to read a national number in;
- `invalid(country_code, possible)`: parsed but not valid; `possible` is
  `is_possible_number_with_reason`'s answer;
- `not_mobile(country_code, kind)`: valid, but `mobile_only` refuses its `number_type`.

The encoders are plain arithmetic, so they build polars expressions as well as integers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

__all__ = [
    "MOBILE_TYPES",
    "NO_REGION",
    "PARALLEL_FROM",
    "PARSE_FAILED",
    "Outcome",
    "Reader",
    "decode",
    "invalid",
    "not_mobile",
    "read_all",
]

MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
"""What `mobile_only` accepts: where mobiles and landlines share ranges (US, CA) both are typed
FIXED_LINE_OR_MOBILE, and refusing those would refuse every North American number."""

PARSE_FAILED = 10
NO_REGION = 20
_INVALID = 100_000
_NOT_MOBILE = 200_000
_PER_VALUE = 1_000
"""Country calling codes are below 1,000, so `base + value * 1,000 + code` keeps both."""

PARALLEL_FROM = 20_000
"""From this many values, `read_all` spreads them over the cores: below it, starting the worker
processes (a quarter of a second) costs more than the second core saves."""

Outcome = tuple[str | None, int | None]
"""(E.164 number, None) for a usable number, else (None, verdict)."""

Code = TypeVar("Code")
"""An `int`, or a polars expression of integers."""


def invalid(country_code: Code, possible: Code) -> Code:
    """The verdict on a parsed number that is not valid."""
    return _INVALID + possible * _PER_VALUE + country_code  # type: ignore[operator, return-value]


def not_mobile(country_code: Code, kind: Code) -> Code:
    """The verdict on a valid number whose type `mobile_only` refuses."""
    return _NOT_MOBILE + kind * _PER_VALUE + country_code  # type: ignore[operator, return-value]


def decode(verdict: int) -> tuple[str, int, int]:
    """("parse_failed", error type, 0), ("no_region", 0, 0), ("invalid", country code,
    possible), ("not_mobile", country code, number type) or ("rule", verdict, 0)."""
    if verdict >= _NOT_MOBILE:
        kind, code = divmod(verdict - _NOT_MOBILE, _PER_VALUE)
        return "not_mobile", code, kind
    if verdict >= _INVALID:
        possible, code = divmod(verdict - _INVALID, _PER_VALUE)
        return "invalid", code, possible
    if verdict == NO_REGION:
        return "no_region", 0, 0
    if verdict >= PARSE_FAILED:
        return "parse_failed", verdict - PARSE_FAILED, 0
    return "rule", verdict, 0


class Reader:
    """Reads cleaned values with phonenumbers.

    The spellings of one number (`07911123456` in GB, `+447911123456`) are different values but
    parse to the same number, and validating and typing it costs more than parsing; so each
    parsed number's verdict is kept for the reader's lifetime.
    """

    def __init__(self, mobile_only: bool) -> None:
        self._mobile_only = mobile_only
        self._verdicts: dict[tuple[int | None, int | None, bool, int], Outcome] = {}

    def interpret(self, value: str, region: str | None) -> Outcome:
        """The first reading (`readings`) that finds a number; else why the most trusted one
        failed, or `NO_REGION` where a national number had no region to be read in."""
        failures: list[Outcome] = []
        for candidate, candidate_region in readings(value, region):
            outcome = self._read(candidate, candidate_region)
            if found(outcome):
                return outcome
            failures.append(outcome)
        if region is None and not value.startswith("+"):
            return None, NO_REGION
        return failures[0]

    def _read(self, candidate: str, region: str | None) -> Outcome:
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException as exc:
            return None, PARSE_FAILED + exc.error_type
        key = (
            number.country_code,
            number.national_number,
            bool(number.italian_leading_zero),
            number.number_of_leading_zeros or 1,
        )
        if key not in self._verdicts:
            self._verdicts[key] = self._judge(number)
        return self._verdicts[key]

    def _judge(self, number: PhoneNumber) -> Outcome:
        code = number.country_code
        if not phonenumbers.is_valid_number(number):
            return None, invalid(code, phonenumbers.is_possible_number_with_reason(number))
        if self._mobile_only:
            kind = phonenumbers.number_type(number)
            if kind not in MOBILE_TYPES:
                return None, not_mobile(code, kind)
        return phonenumbers.format_number(number, PhoneNumberFormat.E164), None


def found(outcome: Outcome) -> bool:
    """A valid number was read (even one `mobile_only` refuses): no other reading is tried."""
    e164, verdict = outcome
    return e164 is not None or (verdict is not None and verdict >= _NOT_MOBILE)


def readings(value: str, region: str | None) -> list[tuple[str, str | None]]:
    """The ways to read a cleaned value, most trusted first.

    With `+`, the value says its country. Without, as a national number of the region first;
    then (if that finds nothing, or there is no region) as an international number that lost its
    `+` on the way (Excel's `447911123456.0`, or `00` where the exit code is not 00).
    """
    if value.startswith("+"):
        return [(value, None)]
    international = "+" + value.removeprefix("00")
    return [(value, region), (international, None)] if region else [(international, None)]


def read_all(pairs: Sequence[tuple[str, str | None]], mobile_only: bool) -> list[Outcome]:
    """`Reader.interpret` for each (value, region), in order; over every core for many pairs.

    The other cores get worker processes (this file run as a script, pairs in and outcomes out as
    JSON on its pipes) while this process reads its own share. Plain child processes rather
    than `multiprocessing`: they never re-run the caller's main module and inherit none of its
    threads. A worker that fails has its share read here instead: the answer is the same.
    """
    processes = min(os.cpu_count() or 1, len(pairs) // (PARALLEL_FROM // 2))
    if processes < 2:
        return _read_chunk(pairs, mobile_only)
    size = -(-len(pairs) // processes)
    own, *shares = [list(pairs[start : start + size]) for start in range(0, len(pairs), size)]
    with ThreadPoolExecutor(len(shares)) as pool:
        workers = [pool.submit(_read_in_worker, share, mobile_only) for share in shares]
        outcomes = _read_chunk(own, mobile_only)
        for worker, share in zip(workers, shares, strict=True):
            outcomes += worker.result() or _read_chunk(share, mobile_only)
    return outcomes


def _read_in_worker(pairs: list[tuple[str, str | None]], mobile_only: bool) -> list[Outcome] | None:
    """A worker process's outcomes for `pairs`; None if it failed.

    The worker runs this file by its path rather than `-m pipeline.phones.reader`, which would
    import the whole package first; `-P` keeps this file's directory off its import path, where
    the package's modules could shadow the standard library's.
    """
    request = json.dumps({"pairs": pairs, "mobile_only": mobile_only}).encode()
    try:
        finished = subprocess.run(  # noqa: S603 (this interpreter, this file, no shell)
            [sys.executable, "-P", __file__],
            input=request,
            capture_output=True,
            check=True,
        )
        outcomes = [(e164, verdict) for e164, verdict in json.loads(finished.stdout)]
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None
    return outcomes if len(outcomes) == len(pairs) else None


def _read_chunk(pairs: Sequence[tuple[str, str | None]], mobile_only: bool) -> list[Outcome]:
    reader = Reader(mobile_only)
    return [reader.interpret(value, region) for value, region in pairs]


def _serve() -> None:
    """A worker: read the request on stdin, write the outcomes on stdout."""
    request = json.load(sys.stdin)
    pairs = [(value, region) for value, region in request["pairs"]]
    json.dump(_read_chunk(pairs, request["mobile_only"]), sys.stdout)


if __name__ == "__main__":
    _serve()
