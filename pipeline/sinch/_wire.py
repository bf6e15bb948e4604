"""Arguments into request paths and bodies, response bodies into models.

Ids are checked before they go into a path and unset fields are left out of bodies, so a bad
argument fails before any request is sent; a 2xx body that breaks the contract becomes an
`UnexpectedResponseError` rather than a pydantic error from deep inside the client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from ._exceptions import UnexpectedResponseError
from ._models import AutoUpdate, Group, GroupPage, validate_group_id

__all__ = ["GROUP", "PAGE", "group_ids", "group_path", "json_body", "optional_group_id", "parse"]

T = TypeVar("T")
GROUP: TypeAdapter[Group] = TypeAdapter(Group)
PAGE: TypeAdapter[GroupPage] = TypeAdapter(GroupPage)


def group_path(group_id: str) -> str:
    return f"groups/{validate_group_id(group_id)}"


def optional_group_id(group_id: str | None) -> str | None:
    return None if group_id is None else validate_group_id(group_id)


def group_ids(ids: Iterable[str] | None) -> list[str] | None:
    return None if ids is None else [validate_group_id(item) for item in ids]


def json_body(**fields: Any) -> dict[str, object]:
    """A JSON body of the fields that were given: None means "not given" and is left out."""
    return {
        key: value.to_wire() if isinstance(value, AutoUpdate) else value
        for key, value in fields.items()
        if value is not None
    }


def parse(adapter: TypeAdapter[T], response: httpx.Response) -> T:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        raise UnexpectedResponseError(
            f"the response body does not match the API contract ({exc.error_count()} problems)",
            response=response,
        ) from exc
