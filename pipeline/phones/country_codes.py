"""A number's country code from its first three digits, for a whole column at once.

After a `+`, `_extract_country_code` takes the first one, two or three digits that are a country
code (none starts with 0), so the first three digits decide it. These tables, indexed by those
digits as an integer, hold the code, how many digits it has, and its main region: a column finds
its codes with a gather, not a lookup per number.
"""

from __future__ import annotations

import polars as pl
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from pipeline.phones.plans import MAIN_REGIONS

__all__ = [
    "CODE_LENGTH_OF_PREFIX",
    "CODE_OF_PREFIX",
    "MAIN_REGION_OF_PREFIX",
    "after_plus",
    "first_three",
]

_CODES = [
    next(
        (
            int(digits[:size])
            for size in (1, 2, 3)
            if digits[0] != "0" and int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE
        ),
        None,
    )
    for digits in (f"{prefix:03d}" for prefix in range(1000))
]
CODE_OF_PREFIX = pl.Series(_CODES, dtype=pl.Int32)
"""The country code of a number's first three digits, null where none is."""
CODE_LENGTH_OF_PREFIX = pl.Series(
    [None if code is None else len(str(code)) for code in _CODES], dtype=pl.UInt32
)
"""How many of the three digits the code takes."""
MAIN_REGION_OF_PREFIX = pl.Series(
    [None if code is None else MAIN_REGIONS[code] for code in _CODES], dtype=pl.String
)
"""The main region of the code (the one `parse` reads the number with)."""


def first_three(digits: pl.Expr) -> pl.Expr:
    """The first three digits as an integer: the index of these tables."""
    return digits.str.slice(0, 3).cast(pl.UInt16, strict=False)


def after_plus(digits: pl.Expr, first: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """`_maybe_extract_country_code` on the digits after a `+` (`first`: `first_three` of
    them): the country code, and the number after it."""
    code = pl.lit(CODE_OF_PREFIX).gather(first)
    return code, digits.str.slice(pl.lit(CODE_LENGTH_OF_PREFIX).gather(first))
