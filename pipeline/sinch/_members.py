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
    `UnexpectedResponseError`."""
    body = response.content
    if body.lstrip()[:1] != b"[":
        raise UnexpectedResponseError("the members body is not a JSON array", response=response)
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
