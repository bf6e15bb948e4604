"""Phone-number lists in both directions: batches sent to the API, arrays read back from it.

Read-back goes through polars because that is where numbers come by the million (see
`GroupsClient.list_members`); sending is capped per request, so plain lists do.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import httpx
import polars as pl

from ._config import MAX_MEMBERS_PER_REQUEST
from ._exceptions import UnexpectedResponseError

__all__ = ["member_batch", "member_series"]


def member_batch(numbers: Iterable[str] | None, field: str) -> list[str] | None:
    """The numbers as a list, refusing the two batching mistakes the server would reject late."""
    if numbers is None:
        return None
    if isinstance(numbers, str):
        raise TypeError(f"{field} must be a collection of phone numbers, not one string")
    batch = list(numbers)
    if len(batch) > MAX_MEMBERS_PER_REQUEST:
        raise ValueError(
            f"{field} holds {len(batch)} numbers; the API takes at most "
            f"{MAX_MEMBERS_PER_REQUEST} per request, so split it into batches"
        )
    return batch


def member_series(response: httpx.Response) -> pl.Series:
    """The members array as strings with one leading `+`; anything but an array of values is an
    `UnexpectedResponseError`.

    A membership of a million numbers is a 13 MiB body, read twice by every re-sync (the plan and
    the verify step), so the usual body (`["447911123456",...]`: quoted digits, nothing else) is
    read as lines (`_plain_array`), in about a third of the memory the JSON reader takes; any
    other body goes through the JSON reader, which decides what it is."""
    body = response.content
    if body.lstrip()[:1] != b"[":
        raise UnexpectedResponseError("the members body is not a JSON array", response=response)
    members = _plain_array(body)
    if members is not None:
        return members
    try:  # polars reads a JSON object, so the bare array becomes its one field
        wrapped = pl.read_json(io.BytesIO(b'{"m":' + body + b"}"), schema={"m": pl.List(pl.String)})
    except pl.exceptions.PolarsError as exc:
        raise UnexpectedResponseError(
            "the members body is not an array of numbers", response=response
        ) from exc
    members = wrapped.get_column("m")[0]
    if members.null_count():
        raise UnexpectedResponseError("the members array holds null", response=response)
    if b"+" in body or b"\\" in body:  # a value may start with `+` (or an escaped one)
        members = members.str.strip_prefix("+")
    return ("+" + members).rename("phone_e164")


_PIECE = r"^\+\+?[0-9]+$"
"""A value of a plain array as `_plain_array` reads it, when the server wrote some with their
`+`: the value (at most one `+`, then digits) after the `+` put in front of it."""


def _plain_array(body: bytes) -> pl.Series | None:
    """The members of a body that is exactly `["v1","v2",...]` with each value digits (after at
    most one `+`), or None for any other body (whitespace, escapes, null, another type...).

    The separators become line ends and each value gets a `+` in the same pass (`","` -> `\\n+`),
    so polars reads the numbers as a one-column CSV, already in E.164. Then the lines are checked
    to hold nothing but digits, `+` and line ends, and the values to account for every byte of
    them (one per separator, none empty, no line skipped or cut): that proves the body was such
    an array, so the result is the JSON reader's, without building a JSON tree."""
    array = body.strip(b" \t\r\n")
    if not (array.startswith(b'["') and array.endswith(b'"]')) or len(array) < 5:
        return None
    inner = array[2:-2]
    lines = b"+" + inner.replace(b'","', b"\n+")
    separators = len(inner) + 1 - len(lines)  # each replacement is one byte shorter
    plus = b"+" in inner
    del inner
    if lines.strip(b"+0123456789\n"):  # another byte: no copy made to find out
        return None
    numbers = pl.read_csv(
        lines,
        has_header=False,
        new_columns=["phone_e164"],
        schema={"phone_e164": pl.String},
        quote_char=None,
    ).to_series()
    lengths = numbers.str.len_bytes()
    if (
        numbers.len() != separators + 1
        or numbers.null_count()
        or lengths.sum() + separators != len(lines)
        or lengths.min() < 2  # type: ignore[operator]
    ):
        return None
    if plus:  # a value the server wrote with its `+` now starts with two
        if not numbers.str.contains(_PIECE).all():
            return None
        numbers = numbers.str.replace(r"^\+\+", "+")
    return numbers
