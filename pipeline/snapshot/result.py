"""What an export fetched and what it wrote: the values the writer, the flow and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.sinch import Group
from pipeline.storage import Location

__all__ = ["GroupMembers", "SizeMismatch", "SnapshotResult"]


@dataclass(frozen=True, slots=True)
class GroupMembers:
    """One group as fetched for a snapshot: its metadata and its members (E.164 with `+`)."""

    group: Group
    members: pl.Series


@dataclass(frozen=True, slots=True)
class SizeMismatch:
    """A group whose `size` is not the number of members the API listed for it."""

    group_id: str
    name: str | None
    size: int
    members: int

    def __str__(self) -> str:
        label = f"{self.name!r} ({self.group_id})" if self.name else self.group_id
        return f"group {label} reports size {self.size:,} but lists {self.members:,} members"


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What an export wrote: where, when, how much, and what did not add up."""

    root: Path | Location
    """A local folder as a `Path`; a URL as a `Location` (which prints masked)."""
    groups_path: Path | Location
    members_path: Path | Location
    taken_at: datetime
    groups: int
    members: int
    size_mismatches: tuple[SizeMismatch, ...] = ()
    vanished: tuple[str, ...] = ()
    """Ids of groups deleted between listing and fetching; they are not in the snapshot."""
    elapsed_s: float = 0.0

    @property
    def path(self) -> Path | Location:
        """The folder that names the snapshot (its members partition), as `diff` takes it."""
        return self.members_path.parent

    @property
    def warnings(self) -> list[str]:
        """Everything a reader of the snapshot should know was not clean."""
        gone = [f"group {group_id} was deleted during the export" for group_id in self.vanished]
        return [*(str(mismatch) for mismatch in self.size_mismatches), *gone]

    def to_markdown(self) -> str:
        lines = [
            f"# Snapshot {self.taken_at:%Y-%m-%d %H:%M:%S} UTC",
            "",
            f"- members: `{self.members_path}`",
            f"- groups: `{self.groups_path}`",
            f"- group count: {self.groups:,}",
            f"- member count: {self.members:,}",
            f"- duration: {self.elapsed_s:.1f} s",
        ]
        lines += [f"- warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)
