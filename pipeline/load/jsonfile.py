"""JSON exports: an array of objects (`[{"phone": ...}, ...]`), or NDJSON (one object a line).

Each object is a row and its keys are the columns, in the order they first appear; a key an
object lacks is an empty cell. Every value is read as text: a string as it is, a number as it is
written in the file (`447911123456` stays those digits, however many; a JSON parser's float
would round a 16-digit one), `true`/`false` as words, and a nested object or array as its JSON,
which is no phone number and is rejected as one.

One object alone is one contact only when its values are plain (a one-line NDJSON file); an
object that holds arrays or objects is a wrapper (`{"contacts": [...]}`) and is refused with its
keys, as is an array of anything but objects: guessing where the rows are would read the wrong
thing quietly.

`source_line`: an array's item number counted from 1; an NDJSON file's line number (blank lines
are skipped but counted, as in CSV).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Columns, Wanted, pick_columns, raw_frame
from pipeline.load.files import reading
from pipeline.load.result import SourceFile

__all__ = ["json_columns", "load_json"]


class _Number(str):
    """A JSON number as it is written in the file."""

    __slots__ = ()


_LINE = "__json_line"
_SHAPE_HINT = (
    'sinch-groups reads a JSON array of objects ([{"phone": "+447911123456"}, ...]) or NDJSON, '
    "one object a line"
)
_BROKEN_HINT = "The file may be truncated; export it again"
_TYPE_NAMES: dict[type, str] = {
    _Number: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    bool: "true or false",
}
_LISTED_KEYS = 10


def load_json(path: Path, wanted: Wanted, *, name: Path) -> tuple[pl.DataFrame, SourceFile]:
    """Read `path`, named `name` in the rows and messages (a decompressed copy is named by the
    file the user gave)."""
    table = _read_json(path, name)
    picked = pick_columns(name, table.lazy(), wanted)
    frame = raw_frame(name, table.drop(_LINE), picked, pl.lit(table.get_column(_LINE)))
    return frame, SourceFile(name, "json", picked, frame.height)


def json_columns(path: Path, wanted: Wanted, *, name: Path) -> Columns:
    """The columns `load_json` would read (the file is parsed whole: JSON has no header)."""
    return pick_columns(name, _read_json(path, name).drop(_LINE).lazy(), wanted)


def _read_json(path: Path, name: Path) -> pl.DataFrame:
    """Every value as text, with each row's `source_line` in `_LINE`."""
    with reading(name, _BROKEN_HINT):
        text = path.read_text(encoding="utf-8-sig")
    try:
        document = _parse(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise _broken(name, exc, "it is not valid JSON") from exc
        rows = list(_ndjson_rows(name, text))
    else:
        rows = list(_document_rows(name, document))
    columns = list(dict.fromkeys(key for _, row in rows for key in row))
    if not rows:
        raise UnreadableSourceError(name, "the JSON file holds no contact", _SHAPE_HINT)
    table = {key: [_text(row.get(key)) for _, row in rows] for key in columns}
    return pl.DataFrame(
        {**table, _LINE: [line for line, _ in rows]},
        schema={**dict.fromkeys(columns, pl.String), _LINE: pl.Int64},
    )


def _parse(text: str) -> object:
    """Numbers stay as they are written (`_Number`), so no digit of a phone number stored as a
    number is lost to a float."""
    return json.loads(text, parse_int=_Number, parse_float=_Number, parse_constant=_Number)


def _document_rows(name: Path, document: object) -> Iterator[tuple[int, dict[str, object]]]:
    if isinstance(document, dict):
        nested = [key for key, value in document.items() if isinstance(value, list | dict)]
        if nested:
            keys = ", ".join(repr(key) for key in list(document)[:_LISTED_KEYS])
            raise UnreadableSourceError(
                name, f"it is a JSON object (keys: {keys}), not an array of objects", _SHAPE_HINT
            )
        yield 1, document
        return
    if not isinstance(document, list):
        raise UnreadableSourceError(
            name, f"it is {_type_name(document)} in JSON, not an array of objects", _SHAPE_HINT
        )
    for index, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            raise UnreadableSourceError(
                name, f"item {index} of its array is {_type_name(item)}, not an object", _SHAPE_HINT
            )
        yield index, item


def _ndjson_rows(name: Path, text: str) -> Iterator[tuple[int, dict[str, object]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = _parse(line)
        except json.JSONDecodeError as exc:
            raise _broken(name, exc, f"line {number} is not valid JSON") from exc
        if not isinstance(row, dict):
            raise UnreadableSourceError(
                name, f"line {number} is {_type_name(row)}, not an object", _SHAPE_HINT
            )
        yield number, row


def _broken(name: Path, exc: json.JSONDecodeError, problem: str) -> UnreadableSourceError:
    return UnreadableSourceError(
        name, f"{problem} ({exc.msg} at line {exc.lineno} column {exc.colno})", _BROKEN_HINT
    )


def _type_name(value: object) -> str:
    return "null" if value is None else _TYPE_NAMES.get(type(value), "a value")


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return None if value is None else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)
