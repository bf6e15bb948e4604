"""Cleaning: what the text of a phone cell tells before any number is read, for every row at once.

Unicode folding, `tel:`, Excel's `="..."` text formula, separators, Excel's float and scientific
damage, an exit code spelled as `+`, and the reject reasons that follow from the text alone are polars string work, cheap per row;
reading a number against the numbering plan is not, so the cleaning also merges the spellings of
one number (`07911 123456`, `+44 7911-123456`) into one value before the distinct values are read.
"""

from __future__ import annotations

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata

from pipeline.phones.countries import check_region, region_of

__all__ = [
    "CLEAN",
    "KEY_REGION",
    "REGION",
    "RULE_BAD_REGION",
    "RULE_EMPTY",
    "RULE_EXTENSION",
    "RULE_NOT_DIGITS",
    "RULE_SCIENTIFIC",
    "VERDICT",
    "check_region",
    "prepare",
]

_SUPPORTED_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
# The exit codes phonenumbers reads as a plain prefix (`00`, `011`, `810`, ...); see `_clean`.
_EXIT_CODES = {
    region: prefix
    for region in _SUPPORTED_REGIONS
    if (prefix := PhoneMetadata.metadata_for_region(region).international_prefix).isdigit()
}
_NO_REGION_EXIT_CODE = "00"
_NONZERO_DIGITS = list("123456789")

# Working columns; the double underscore keeps them clear of whatever columns a caller brings.
# `prepare` leaves the public ones for the steps after it.
_TEXT = "__text"
CLEAN = "__clean"
REGION = "__region"
KEY_REGION = "__key_region"
_BAD_REGION = "__bad_region"
_EXIT_CODE = "__exit_code"
VERDICT = "__verdict"

_TEL_PREFIX = r"(?i)^tel:"
_EXCEL_TEXT = r'^=\s*"(.*)"$'
"""Excel's way to keep a number as text (`="+447911123459"`), which exports and re-saved sheets
carry into the CSV: the digits are inside the quotes."""
_EXTENSION = r"(?i)(?:;ext=|extension|\bext\.?|x|#)\s*\d+$"
_SCIENTIFIC = r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$"
_FLOAT_CAST = r"^(\d{6,})\.0+$"
_SEPARATORS = [
    *"\t\n\x0b\x0c\r \x85\xa0\u1680",
    *map(chr, range(0x2000, 0x200B)),
    *"\u2028\u2029\u202f\u205f\u3000",
    *".-",
    *map(chr, range(0x2010, 0x2016)),
    *"()[]/'",
]
"""What carries no digits: whitespace (Unicode's White_Space, what `\\s` matches in polars), dots,
hyphens and dashes, brackets, slashes and apostrophes; as single characters, for one
`replace_many` pass, which costs half a regex character class's."""
_DIGITS = r"^\+?\d+$"
_PLAIN = r"^\+?[0-9]+$"
"""A value with nothing to clean: ASCII digits, perhaps after a `+`."""

# The verdicts (see `reader`) of the rules the text alone decides, in the order tried.
RULE_EMPTY, RULE_EXTENSION, RULE_SCIENTIFIC, RULE_NOT_DIGITS, RULE_BAD_REGION = range(1, 6)


def prepare(frame: pl.DataFrame, default_region: str | None) -> pl.DataFrame:
    """Add the region, the cleaned value, the distinct-key region, and the verdict of the first
    rule the text alone breaks (null if none does).

    Nearly half the cells of an export are plain digits already (`_PLAIN`): nothing to strip and
    no text rule they can break, so only the other rows pay for the text work (`_tidy`).
    """
    raw = _nfkc(frame.get_column("phone_raw"))
    messy = raw.str.contains(_PLAIN).not_().fill_null(True).arg_true()
    tidied = _merged(raw, messy, _tidy(raw.gather(messy)))
    digits, text_rule = tidied.get_column(_TEXT), tidied.get_column(VERDICT)
    cells = _regions(frame.get_column("region_raw"), default_region)
    # Each row's cell, as its place among the distinct cells: one hash lookup a row.
    cell = (
        frame.get_column("region_raw")
        .replace_strict(
            cells.get_column("region_raw"), pl.int_range(cells.height, dtype=pl.UInt32, eager=True)
        )
        .cast(pl.UInt32)  # an empty column comes back as it went in
    )
    region, bad_region, exit_code = (
        cells.get_column(name).gather(cell) for name in (REGION, _BAD_REGION, _EXIT_CODE)
    )
    # With a country code the region changes nothing, so leaving it out of the key merges rows.
    national = ~pl.col(CLEAN).str.starts_with("+")
    return (
        frame.with_columns(region, _dial(digits, exit_code).alias(CLEAN))
        .lazy()
        .with_columns(
            pl.when(national).then(pl.col(REGION)).alias(KEY_REGION),
            pl.coalesce(
                pl.lit(text_rule),
                pl.when(pl.lit(bad_region) & national).then(pl.lit(RULE_BAD_REGION, pl.Int32)),
            ).alias(VERDICT),
        )
        .collect()
    )


def _tidy(raw: pl.Series) -> pl.DataFrame:
    """The values stripped of what carries no digits (`_TEXT`) and the verdict of the first
    text rule they break (`VERDICT`, null if none).

    Most of these cells are digits between separators (`+44 7400 465869`): once the separators
    are gone they are plain, and no other step could have read them differently, since a text
    rule, `tel:` and Excel's formula all need a character that is not a separator, and a float
    needs a dot. So only the rest go through every step (`_tidy_each`).
    """
    bare = raw.str.replace_many(_SEPARATORS, [""] * len(_SEPARATORS))
    rest = (
        (bare.str.contains(_PLAIN).not_() | raw.str.contains(".", literal=True))
        .fill_null(True)
        .arg_true()
    )
    return _merged(bare, rest, _tidy_each(raw.gather(rest)))


def _merged(values: pl.Series, rows: pl.Series, tidied: pl.DataFrame) -> pl.DataFrame:
    """`values` with `tidied`'s text at `rows` (`_TEXT`), and `tidied`'s verdicts there, null
    elsewhere (`VERDICT`): the rows a step skipped keep what they had and break no rule."""
    return pl.DataFrame(
        [
            values.scatter(rows, tidied.get_column(_TEXT)).alias(_TEXT),
            pl.repeat(None, values.len(), dtype=pl.Int32, eager=True)
            .scatter(rows, tidied.get_column(VERDICT))
            .alias(VERDICT),
        ]
    )


def _tidy_each(raw: pl.Series) -> pl.DataFrame:
    """`_tidy` of each value, every step."""
    text = (
        pl.col(_TEXT)
        .str.strip_chars()
        .str.replace(_EXCEL_TEXT, "$1")
        .str.strip_chars()
        .str.replace(_TEL_PREFIX, "")
        .str.strip_chars()
    )
    digits = (
        pl.col(_TEXT)
        .str.replace(_FLOAT_CAST, "$1")
        .str.replace_many(_SEPARATORS, [""] * len(_SEPARATORS))
    )
    return (
        raw.alias(_TEXT)
        .to_frame()
        .lazy()
        .with_columns(text)
        .select(digits.alias(_TEXT), _rule_verdict(pl.col(_TEXT), digits))
        .collect()
    )


def _regions(cells: pl.Series, default_region: str | None) -> pl.DataFrame:
    """Per distinct country cell: the region (`REGION`) it reads national numbers in (the
    default region where the cell is empty, none where it names no region phonenumbers knows),
    whether it is such an unknown country (`_BAD_REGION`), and that region's plain exit code
    (`_EXIT_CODE`, see `_clean`). A file has a handful of distinct cells, not one per row, so
    reading `Deutschland` or `+44` as a region (`countries`) is a join on those few values."""
    text = pl.col("region_raw").str.strip_chars()
    given = text.is_not_null() & (text != "")
    named = region_of(pl.col("region_raw"))
    known = named.is_not_null()
    region = pl.col(REGION)
    return (
        cells.unique()
        .to_frame("region_raw")
        .with_columns(
            pl.when(given & known)
            .then(named)
            .when(~given)
            .then(pl.lit(default_region))
            .cast(pl.String)
            .alias(REGION),
            (given & ~known).alias(_BAD_REGION),
        )
        .with_columns(
            pl.when(region.is_null())
            .then(pl.lit(_NO_REGION_EXIT_CODE))
            .otherwise(region.replace_strict(_EXIT_CODES, default=None, return_dtype=pl.String))
            .alias(_EXIT_CODE)
        )
    )


def _nfkc(values: pl.Series) -> pl.Series:
    """NFKC-fold (full-width digits and plus, odd spaces) the values that are not plain ASCII.

    ASCII text is NFKC already, and folding every value would cost more than the rest of the
    cleaning together; a value is ASCII exactly when it has as many bytes as characters.
    """
    folded = (values.str.len_bytes() != values.str.len_chars()).arg_true()
    return values.clone().scatter(folded, values.gather(folded).str.normalize("NFKC"))


def _dial(digits: pl.Series, exit_code: pl.Series) -> pl.Series:
    """Spell the region's exit code (`00`, `011`, ...) as `+`.

    The `0` of `+44 (0)7400` stays (`_tidy` strips only what carries no digits): phonenumbers
    drops a trunk prefix after a country code where it is one (GB, DE, FR) and keeps it where it
    is part of the number (Italy's `+39 06`).

    Where the region's exit code is a plain digit string, phonenumbers strips it from a value
    that starts with it and is not followed by a 0 (`_parse_prefix_as_idd`), and reads the rest
    exactly as it reads the same digits after `+`. So writing `011 44...` (read in the US) as
    `+44...` is exact, and merges the spellings before the distinct step. Exit codes that are
    patterns (Australia's `0011` among others) are left to phonenumbers. Without a region,
    `00` is taken as the exit code: the international reading is the only one there anyway.
    Few values are dialled that way, so only those are rewritten.
    """
    starting = digits.str.starts_with(exit_code).arg_true()
    rest = digits.gather(starting).str.slice(exit_code.gather(starting).str.len_bytes())
    dialled = rest.str.slice(0, 1).is_in(_NONZERO_DIGITS)
    return digits.scatter(starting.filter(dialled), "+" + rest.filter(dialled))


def _rule_verdict(text: pl.Expr, clean: pl.Expr) -> pl.Expr:
    """The verdict of the first text rule the value breaks (their texts are in `verdicts`), else
    null; an unknown country (`RULE_BAD_REGION`) comes after these, in `prepare`. Spelling the
    exit code as `+` (`_dial`) changes none of them, so they are read before it."""
    return (
        pl.when(clean.is_null() | (clean == ""))
        .then(RULE_EMPTY)
        .when(text.str.contains(_EXTENSION))
        .then(RULE_EXTENSION)
        .when(text.str.contains(_SCIENTIFIC))
        .then(RULE_SCIENTIFIC)
        .when(~clean.str.contains(_DIGITS))
        .then(RULE_NOT_DIGITS)
        .cast(pl.Int32)
        .alias(VERDICT)
    )
