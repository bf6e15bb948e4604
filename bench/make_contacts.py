"""Generate a realistic, seeded CRM export to benchmark on: CSV or Parquet.

    .venv/bin/python bench/make_contacts.py 1000000 bench/.data/contacts.csv
    .venv/bin/python bench/make_contacts.py 200000 /tmp/contacts.parquet --seed 3

A CRM export is not a list of E.164 numbers. People from a dozen countries are written the ways
real files write them: E.164 with and without the `+`, the international and national formats
phonenumbers itself prints for the country (with a `country` column saying which country), `00`
and `011` exit codes, punctuation and `tel:`, a trunk `(0)` after the country code, extensions,
Excel's float cast (`447400123456.0`) and scientific damage (`4.474001235E+11`), numbers with
digits missing, placeholder text and empty cells. About one row in ten is a person already in
the file again, in another spelling. The `country` cell is empty on half the US rows (the file's
default region is the US, `DEFAULT_REGION`), on the `011` rows (dialled from the US) and on a third
of the E.164-without-`+` rows.

The same seed and row count give the same file, byte for byte, so runs on different days or
machines measure the same input.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
from phonenumbers import PhoneNumberFormat, PhoneNumberType

__all__ = [
    "COUNTRY_COLUMN",
    "DEFAULT_REGION",
    "PHONE_COLUMN",
    "change_rows",
    "contacts",
    "contacts_file",
    "write",
]

PHONE_COLUMN = "phone"
COUNTRY_COLUMN = "country"
DEFAULT_REGION = "US"
"""The region a reader uses for rows with an empty `country` cell."""
DATA_DIR = Path(__file__).resolve().parent / ".data"

# (region, share of people): a company selling in Europe, North America, Australia, India, Brazil.
REGIONS = (
    ("US", 0.20),
    ("GB", 0.18),
    ("DE", 0.09),
    ("FR", 0.08),
    ("IN", 0.08),
    ("IT", 0.06),
    ("ES", 0.06),
    ("BR", 0.06),
    ("NL", 0.05),
    ("AU", 0.05),
    ("CA", 0.05),
    ("SE", 0.04),
)
MOBILE_SHARE = 0.8
DUPLICATE_SHARE = 0.10
RANDOM_DIGITS = 6
"""Each person is the country's example number with its last digits redrawn: these all stay in
the example's range, so nearly every well-written number is valid."""

# (spelling, weight); `_spell` writes each one, `_fits` says which people it suits.
SPELLINGS = (
    ("e164", 28),
    ("e164_without_plus", 7),
    ("international", 12),
    ("national", 22),
    ("national_digits", 6),
    ("exit_00", 5),
    ("exit_011", 3),
    ("trunk_in_brackets", 3),
    ("punctuated", 4),
    ("extension", 1),
    ("excel_float", 2),
    ("excel_scientific", 1),
    ("digits_missing", 2),
    ("placeholder", 1),
    ("empty", 2),
)
_NAMES = [name for name, _ in SPELLINGS]
_WEIGHTS = np.array([weight for _, weight in SPELLINGS], dtype=float)
_PLACEHOLDERS = ("n/a", "unknown", "-", "none", "TBD", "0")
_EXTENSIONS = (" ext. {}", " x{}", " #{}", " extension {}")
_SEPARATORS = ("-", ".", "/")
_EXIT_00 = frozenset({"GB", "DE", "FR", "IN", "IT", "ES", "NL", "SE"})
"""Where `00` is the exit code: writing `00` there is what a local would do."""
_NANPA = frozenset({"US", "CA"})


@dataclass(frozen=True)
class _Shape:
    """How one (region, number type) is written: phonenumbers' formats as digit templates."""

    region: str
    country_code: str
    stem: str
    international: str
    national: str
    """Templates: `#` is a digit of the national significant number, in order."""
    trunk: str
    """What the national format puts before the national significant number (`0`, or none)."""


def contacts(rows: int, seed: int = 7) -> pl.DataFrame:
    """`rows` CRM rows: customer_id, name, email, phone, country, segment."""
    rng = np.random.default_rng(seed)
    fresh = rows - int(rows * DUPLICATE_SHARE)
    people = _people(fresh, rng)
    # A duplicate is an earlier person written another way.
    person = np.concatenate([np.arange(fresh), rng.integers(0, fresh, rows - fresh)])
    spelling = rng.choice(len(_NAMES), size=rows, p=_WEIGHTS / _WEIGHTS.sum())
    repeat = np.arange(rows) >= fresh
    first_spelling = spelling[person]
    spelling = np.where(
        repeat & (spelling == first_spelling), (spelling + 1) % len(_NAMES), spelling
    )
    order = rng.permutation(rows)
    person, spelling = person[order], spelling[order]
    draws = rng.integers(0, 1 << 30, size=rows)
    phones: list[str] = []
    countries: list[str] = []
    for index, name, draw in zip(person.tolist(), spelling.tolist(), draws.tolist(), strict=True):
        shape, national = people[index]
        phone, country = _spell(_NAMES[name], shape, national, draw)
        phones.append(phone)
        countries.append(country)
    ids = person + 100_000
    return pl.DataFrame(
        {
            "customer_id": ids,
            "name": [f"Customer {i}" for i in ids.tolist()],
            "email": [f"customer{i}@example.com" for i in ids.tolist()],
            PHONE_COLUMN: phones,
            COUNTRY_COLUMN: countries,
            "segment": rng.choice(["newsletter", "vip", "trial"], size=rows, p=[0.7, 0.1, 0.2]),
        }
    )


def change_rows(frame: pl.DataFrame, fraction: float, seed: int = 1) -> pl.DataFrame:
    """The same export a day later: `fraction` of the rows now hold a new person's E.164 number.

    The new numbers are US numbers from a range no generated person uses (555-01xx is reserved
    for fiction, so the example stem with other digits), so each changed row is one removal (if
    the old number was not elsewhere in the file) and one addition.
    """
    rng = np.random.default_rng(seed)
    changed = rng.choice(frame.height, size=int(frame.height * fraction), replace=False)
    new = [f"+1202{n:07d}" for n in rng.choice(10**7, size=changed.size, replace=False).tolist()]
    phones = frame.get_column(PHONE_COLUMN).scatter(changed, new)
    countries = frame.get_column(COUNTRY_COLUMN).scatter(changed, ["US"] * changed.size)
    return frame.with_columns(phones, countries)


def write(frame: pl.DataFrame, path: Path) -> None:
    """CSV or Parquet by the file's suffix; every column of the CSV is text as a CRM writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".csv":
        frame.write_csv(path)
    else:
        raise SystemExit(f"{path}: the file name must end in .csv or .parquet")


def contacts_file(rows: int, seed: int = 7, suffix: str = ".csv") -> Path:
    """The generated file under bench/.data, made on first use and reused after.

    Generating a million rows takes a few seconds; the benchmarks share one file per
    (rows, seed, format), and the name says which.
    """
    path = DATA_DIR / f"contacts-{rows}-seed{seed}{suffix}"
    if not path.exists():
        partial = path.with_name(f".{path.name}.partial{path.suffix}")
        write(contacts(rows, seed), partial)
        partial.replace(path)
    return path


def _people(count: int, rng: np.random.Generator) -> list[tuple[_Shape, str]]:
    """`count` distinct people: each a shape and a national significant number."""
    shapes = [
        (_shape(region, kind), share * (MOBILE_SHARE if kind == PhoneNumberType.MOBILE else 0.2))
        for region, share in REGIONS
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
    ]
    weights = np.array([weight for _, weight in shapes])
    drawn = rng.choice(len(shapes), size=count, p=weights / weights.sum())
    people: list[tuple[_Shape, str]] = [None] * count  # type: ignore[list-item]
    for index, (shape, _) in enumerate(shapes):
        where = np.flatnonzero(drawn == index)
        digits = RANDOM_DIGITS if where.size <= 10**RANDOM_DIGITS // 2 else RANDOM_DIGITS + 1
        tails = rng.choice(10**digits, size=where.size, replace=False)
        stem = shape.stem[: len(shape.stem) - digits]
        for slot, tail in zip(where.tolist(), tails.tolist(), strict=True):
            people[slot] = (shape, f"{stem}{tail:0{digits}d}")
    return people


def _shape(region: str, kind: int) -> _Shape:
    """The region's example number of `kind`, and its two formats with the digits templated."""
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    national = phonenumbers.national_significant_number(example)
    printed = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
    # The national format is [trunk] + the national number's digits, grouped.
    trunk_digits = sum(ch.isdigit() for ch in printed) - len(national)
    return _Shape(
        region=region,
        country_code=str(example.country_code),
        stem=national,
        international=_template(
            phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL), len(national)
        ),
        national=_template(printed, len(national)),
        trunk="".join(ch for ch in printed if ch.isdigit())[:trunk_digits],
    )


def _template(printed: str, digits: int) -> str:
    """`printed` with its last `digits` digits (the national significant number) as `#`."""
    chars = list(printed)
    left = digits
    for position in range(len(chars) - 1, -1, -1):
        if left and chars[position].isdigit():
            chars[position] = "#"
            left -= 1
    return "".join(chars)


def _fill(template: str, digits: str) -> str:
    return template.replace("#", "{}").format(*digits)


def _spell(name: str, shape: _Shape, national: str, draw: int) -> tuple[str, str]:
    """(phone cell, country cell) for one person written one way; `draw` picks the variants."""
    cc, region = shape.country_code, shape.region
    country = "" if region == DEFAULT_REGION and draw % 2 else region
    international = _fill(shape.international, national)
    if name == "exit_00" and region not in _EXIT_00:
        name = "international"
    if name == "exit_011" and region in _NANPA:
        name = "national"
    if name == "trunk_in_brackets" and shape.trunk != "0":
        name = "e164"
    match name:
        case "e164":
            return f"+{cc}{national}", country
        case "e164_without_plus":
            # Often from a system that kept neither the `+` nor the country.
            return f"{cc}{national}", "" if draw % 3 == 0 else country
        case "international":
            return international, country
        case "national":
            return shape.trunk + _fill(shape.national, national)[len(shape.trunk) :], country
        case "national_digits":
            return shape.trunk + national, country
        case "exit_00":
            return "00" + international.removeprefix("+"), country
        case "exit_011":
            return "011 " + international.removeprefix("+"), ""
        case "trunk_in_brackets":
            return f"+{cc} (0){national}", country
        case "punctuated":
            separator = _SEPARATORS[draw % len(_SEPARATORS)]
            spelled = international.replace(" ", separator)
            return ("tel:" + spelled if draw % 5 == 0 else spelled), country
        case "extension":
            suffix = _EXTENSIONS[draw % len(_EXTENSIONS)].format(10 + draw % 990)
            return international + suffix, country
        case "excel_float":
            return f"{cc}{national}.0", country
        case "excel_scientific":
            return f"{float(cc + national):.9E}".replace("E+0", "E+"), country
        case "digits_missing":
            return shape.trunk + national[: -1 - draw % 3], country
        case "placeholder":
            return _PLACEHOLDERS[draw % len(_PLACEHOLDERS)], country
        case _:
            return "", country


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("rows", type=int)
    parser.add_argument("out", type=Path, help="a .csv or .parquet path")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    frame = contacts(args.rows, args.seed)
    write(frame, args.out)
    phones = frame.get_column(PHONE_COLUMN)
    print(
        f"wrote {frame.height:,} rows to {args.out} in {time.perf_counter() - started:.1f} s: "
        f"{phones.n_unique():,} distinct phone cells, "
        f"{frame.get_column('customer_id').n_unique():,} distinct people, "
        f"{(frame.get_column(COUNTRY_COLUMN) == '').sum():,} empty country cells "
        f"(read as {DEFAULT_REGION}), {args.out.stat().st_size / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
