"""Where bytes live: writing files so that a reader never sees half of one, and the Parquet
metadata every file the tool writes carries.

Every output (reports, rejects, snapshots, the migration mapping, the normalize cache) goes
through `atomic_path`, so a crash or a full disk leaves the old file or the new one, never a torn
one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import __version__

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "COMPRESSION",
    "HOME_ENV",
    "METADATA_PREFIX",
    "atomic_path",
    "file_metadata",
    "home_dir",
    "read_file_metadata",
    "write_parquet_atomic",
]

COMPRESSION = "zstd"
METADATA_PREFIX = "sinch_groups."
HOME_ENV = "SINCH_GROUPS_HOME"


def home_dir() -> Path:
    """The tool's own folder (the embedded emulator's state, the group locks): `$SINCH_GROUPS_HOME`,
    else `$XDG_DATA_HOME/sinch-groups`, else ~/.local/share/sinch-groups."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "sinch-groups"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`, to write the whole file to.

    When the block ends, the file replaces `path` in one rename: a reader, or a re-run after a
    crash, sees the old file or the new one, never a torn one. If the block raises, the temporary
    file is removed and `path` is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def file_metadata(kind: str, values: Mapping[str, object]) -> dict[bytes, bytes]:
    """`sinch_groups.*` key-value metadata: the file's kind, the tool's version, and `values`
    (dicts as JSON, anything else as text)."""
    out = {f"{METADATA_PREFIX}kind": kind, f"{METADATA_PREFIX}tool_version": __version__}
    for key, value in values.items():
        text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
        out[f"{METADATA_PREFIX}{key}"] = text
    return {key.encode(): value.encode() for key, value in out.items()}


def write_parquet_atomic(
    frame: pl.DataFrame, path: Path, metadata: Mapping[str, object], *, kind: str
) -> Path:
    """Write `frame` to `path` with `sinch_groups.*` metadata, replacing any old file in one step."""
    import pyarrow.parquet as pq  # not for the commands that only need `home_dir`

    table = frame.to_arrow()
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), **file_metadata(kind, metadata)}
    )
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary, compression=COMPRESSION)
    return path


def read_file_metadata(path: Path) -> dict[str, str]:
    """The `sinch_groups.*` key-value metadata of a Parquet file, without the prefix."""
    import pyarrow.parquet as pq

    raw = pq.read_metadata(path).metadata or {}
    prefix = METADATA_PREFIX.encode()
    return {
        key[len(prefix) :].decode(): value.decode()
        for key, value in raw.items()
        if key.startswith(prefix)
    }
