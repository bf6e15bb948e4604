"""The mapping file: source id -> destination id, the record that makes a migration resumable.

It is rewritten after every change and tied to one pair of accounts, so a re-run picks up where
the last one stopped and a file written for other accounts is refused rather than used to create
duplicates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.errors import PipelineError
from pipeline.snapshot.schemas import MappingTable, polars_schema
from pipeline.storage import Location, read_file_metadata, read_parquet, write_parquet_atomic

__all__ = [
    "MappingEntry",
    "MappingFile",
    "MigrationError",
    "account_id",
    "default_mapping_path",
]

MAPPING_SCHEMA = polars_schema(MappingTable)


class MigrationError(PipelineError):
    """A migration cannot start as asked (e.g. a mapping file written for other accounts)."""


@dataclass(frozen=True, slots=True)
class MappingEntry:
    """One row of the mapping file (`MappingTable`)."""

    source_id: str
    target_id: str
    name: str | None
    members: int
    complete: bool
    action: str
    migrated_at: datetime


def account_id(description: Mapping[str, str]) -> str:
    """The id that names an account in a `Target.describe()` (the URL may change between runs)."""
    return description.get("service_plan_id") or description.get("project_id") or "unknown"


def default_mapping_path(source: Mapping[str, str], destination: Mapping[str, str]) -> Path:
    """`sinch-groups-migrations/<source>--to--<destination>.parquet`: one file per pair of accounts.

    The ids in a snapshot are those of the plan it was taken from, so migrating from the plan
    itself or from its snapshot shares the same mapping.
    """

    def slug(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_-]+", "_", text)

    name = f"{slug(account_id(source))}--to--{slug(account_id(destination))}.parquet"
    return Path("sinch-groups-migrations") / name


class MappingFile:
    """The source id -> destination id table, kept on disk or on object storage (a `Location`)
    and rewritten whole after every change (one PUT there: never half a mapping)."""

    def __init__(
        self,
        path: Path | Location,
        *,
        source: Mapping[str, str],
        destination: Mapping[str, str],
        entries: Sequence[MappingEntry] = (),
    ) -> None:
        self.path = path
        self._source = dict(source)
        self._destination = dict(destination)
        self._entries = {entry.source_id: entry for entry in entries}

    @classmethod
    def open(
        cls, path: Path | Location, *, source: Mapping[str, str], destination: Mapping[str, str]
    ) -> MappingFile:
        """Load `path` if it exists (refusing one written for other accounts), else start empty."""
        if not path.exists():
            return cls(path, source=source, destination=destination)
        metadata = read_file_metadata(path)
        recorded = {
            name: json.loads(metadata.get(name, "{}")) for name in ("source", "destination")
        }
        wanted = (account_id(source), account_id(destination))
        found = (account_id(recorded["source"]), account_id(recorded["destination"]))
        if found != wanted:
            raise MigrationError(
                f"{path} maps {found[0]} -> {found[1]}, not {wanted[0]} -> {wanted[1]}; "
                "pass --mapping with another file"
            )
        frame = MappingTable.validate(read_parquet(path))
        entries = [MappingEntry(**row) for row in frame.iter_rows(named=True)]
        return cls(path, source=source, destination=destination, entries=entries)

    def get(self, source_id: str) -> MappingEntry | None:
        return self._entries.get(source_id)

    def target_of(self, source_id: str) -> str | None:
        entry = self._entries.get(source_id)
        return entry.target_id if entry else None

    def entries(self) -> list[MappingEntry]:
        return list(self._entries.values())

    def record(self, entry: MappingEntry) -> None:
        """Add or replace one row and write the whole file atomically (it holds one row per group)."""
        self._entries[entry.source_id] = entry
        rows = [
            {name: getattr(item, name) for name in MAPPING_SCHEMA.names()}
            for item in self._entries.values()
        ]
        frame = MappingTable.validate(pl.DataFrame(rows, schema=MAPPING_SCHEMA))
        metadata = {"source": self._source, "destination": self._destination}
        write_parquet_atomic(frame, self.path, metadata, kind="migration_mapping")
