"""The run report: counts that add up, rendered as JSON, a console table and markdown.

Every input row is accounted for: `rows_read == rows_valid + rows_rejected`, where valid rows are
applied or already present (duplicates included: they are the same member) and rejected rows are
in the rejects file with a reason. `check()` enforces it before a report is written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl
from rich.table import Table
from rich.text import Text

from pipeline.phones.rejects import write_rejects
from pipeline.storage import Where, atomic_path

__all__ = [
    "GroupReport",
    "ReportInconsistentError",
    "SyncReport",
    "write_json_atomic",
    "write_outputs",
]


class ReportInconsistentError(AssertionError):
    """The counts do not add up: a row was lost or counted twice. This is a bug in sinch-groups."""


@dataclass
class GroupReport:
    """One group's line in the report: before, the plan, what happened, and the check after."""

    key: str
    group_id: str | None
    name: str | None
    created: bool
    current: int
    to_add: int
    to_remove: int
    unchanged: int
    suppressed_skipped: int
    suppressed_removed: int
    added: int = 0
    removed: int = 0
    api_rejected: int = 0
    final_size: int | None = None
    verified: bool | None = None
    """True or False once the group was read after this run's last write to it; None for a
    group the run did not write (see `status`) and in a dry run."""
    read_at: str | None = None
    """When the plan read the live membership (ISO 8601, UTC)."""
    changed_by_others: list[int] = field(default_factory=lambda: [0, 0])
    """[added, removed]: what the read after our last write found that our writes do not explain
    (another writer during the run); `missing` and `unexpected` list up to 100 numbers."""
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    base: dict[str, str] | None = None
    """The run that wrote the group's base (run_id, written_at, source_digest, mode); None when
    the group had none and the plan was two-way (file x live)."""
    left: int = 0
    """Members who left on Sinch's side since the base (a keyword, the dashboard)."""
    left_kept_out: int = 0
    """File numbers not added because they left (since the base, or earlier: the ledger)."""
    readded_left: int = 0
    """File numbers added although they had left (`--readd-left`)."""
    optouts_recorded: int = 0
    """New entries this run put in the opt-out ledger."""
    joined: int = 0
    """Members who joined on Sinch's side since the base."""
    joined_kept: int = 0
    """Members who joined on Sinch's side, are not in the file and stay."""
    joined_removed: int = 0
    """Members who joined on Sinch's side that a `--strict` mirror removed."""

    def interference(self) -> str | None:
        """`changed by another writer during the run: +N -M`, when the verify read found that."""
        added, removed = self.changed_by_others
        if not added and not removed:
            return None
        return f"changed by another writer during the run: +{added:,} -{removed:,}"

    def history_lines(self) -> list[str]:
        """What changed on Sinch's side, in words: empty when nothing did."""
        lines = []
        if self.left or self.left_kept_out:
            lines.append(
                f"left since the last run: {self.left:,}; kept out: {self.left_kept_out:,}"
            )
        if self.readded_left:
            lines.append(f"added back although they had left (--readd-left): {self.readded_left:,}")
        if self.joined or self.joined_kept or self.joined_removed:
            fate = (
                f"removed (--strict): {self.joined_removed:,}"
                if self.joined_removed
                else f"kept: {self.joined_kept:,}"
            )
            lines.append(f"joined since the last run: {self.joined:,}; {fate}")
        return lines

    def imbalance(self, dry_run: bool) -> str | None:
        """Why `current + add - remove != final` for this group, or None when it holds. After a
        run, what another writer did during it (`changed_by_others`) is part of the sum."""
        if self.final_size is None:
            return None
        if dry_run or self.verified is None:
            add, remove, others = self.to_add, self.to_remove, 0
        else:
            add, remove = self.added, self.removed
            others = self.changed_by_others[0] - self.changed_by_others[1]
        if self.current + add - remove + others == self.final_size:
            return None
        return (
            f"group {self.key!r}: current {self.current} + add {add} - remove {remove}"
            f" + others {others} != final {self.final_size}"
        )

    def status(self, dry_run: bool) -> str:
        """`yes`/`NO` (read after our last write), `unchanged` (not written, read at `read_at`),
        or `-` in a dry run."""
        if self.verified is not None:
            return "yes" if self.verified else "NO"
        return "-" if dry_run else "unchanged"


@dataclass
class SyncReport:
    """Everything a sync run did, with counts that add up."""

    sources: list[str]
    mode: str
    dry_run: bool
    target: dict[str, Any]
    started_at: str
    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    duplicates: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    suppression_numbers: int = 0
    suppressed: int = 0
    groups: list[GroupReport] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    duration_s: float = 0.0
    rejects_path: str | None = None
    report_path: str | None = None
    notes: list[str] = field(default_factory=list)
    """Things worth knowing although nothing failed (e.g. a file read as cp1252)."""
    ok: bool = True

    def check(self) -> None:
        """Raise if a row went missing or was counted twice."""
        problems = []
        if self.rows_read != self.rows_valid + self.rows_rejected:
            problems.append(
                f"rows_read {self.rows_read} != valid {self.rows_valid} + rejected {self.rows_rejected}"
            )
        if sum(self.rejected_by_reason.values()) != self.rows_rejected:
            problems.append(f"rejects by reason {self.rejected_by_reason} != {self.rows_rejected}")
        problems += [problem for g in self.groups if (problem := g.imbalance(self.dry_run))]
        if problems:
            raise ReportInconsistentError("; ".join(problems))

    def nothing_valid(self) -> str | None:
        """Why a run with no valid row changed nothing, in one line (None when some are valid)."""
        if self.rows_valid:
            return None
        if not self.rows_read:
            return (
                f"{', '.join(self.sources)} has a header but no rows: nothing to sync, nothing "
                "was changed (--allow-empty goes on anyway)"
            )
        top = sorted(self.rejected_by_reason.items(), key=lambda item: (-item[1], item[0]))[:3]
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in top)
        which = (
            "the one row is not valid"
            if self.rows_read == 1
            else f"none of the {self.rows_read:,} rows is valid"
        )
        return (
            f"{which}, so nothing was changed; top reasons: "
            f"{reasons}; every row and its reason is in {self.rejects_path}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def rows_table(self) -> Table:
        table = Table(title="Rows", show_header=True, header_style="bold")
        table.add_column("rows")
        table.add_column("count", justify="right")
        table.add_row("read", f"{self.rows_read:,}")
        table.add_row("valid", f"{self.rows_valid:,}")
        table.add_row("  of which duplicates", f"{self.duplicates:,}")
        table.add_row("rejected", f"{self.rows_rejected:,}")
        for reason, count in sorted(self.rejected_by_reason.items()):
            table.add_row(f"  {reason}", f"{count:,}")
        table.add_row("suppressed numbers (kept out or removed)", f"{self.suppressed:,}")
        return table

    def groups_table(self) -> Table:
        """Per group; `add`/`remove` are the plan in a dry run and what was applied otherwise."""
        title = "Plan (dry run: nothing was changed)" if self.dry_run else "Groups"
        table = Table(title=title, show_header=True, header_style="bold")
        table.add_column("group")
        for column in ("current", "add", "remove", "suppressed", "refused", "final", "verified"):
            # Numbers and their headings stay whole; the group name wraps instead.
            table.add_column(column, justify="right", no_wrap=True)
        for g in self.groups:
            add, remove = (g.to_add, g.to_remove) if self.dry_run else (g.added, g.removed)
            table.add_row(
                Text(g.key + (" (new)" if g.created else "")),  # a name is data, never markup
                f"{g.current:,}",
                f"{add:,}",
                f"{remove:,}",
                f"{g.suppressed_skipped + g.suppressed_removed:,}",
                f"{g.api_rejected:,}",
                "-" if g.final_size is None else f"{g.final_size:,}",
                g.status(self.dry_run),
            )
        return table

    def group_rows(self) -> list[dict[str, object]]:
        """One row per group: the columns of the markdown page and of the flow's table artifact."""
        return [
            {
                "group": g.key,
                "group_id": g.group_id,
                "current": g.current,
                "to_add": g.to_add,
                "to_remove": g.to_remove,
                "added": g.added,
                "removed": g.removed,
                "api_rejected": g.api_rejected,
                "final_size": g.final_size,
                "verified": g.verified,
                "left": g.left,
                "left_kept_out": g.left_kept_out,
                "readded_left": g.readded_left,
                "joined": g.joined,
                "joined_kept": g.joined_kept,
                "joined_removed": g.joined_removed,
                "read_at": g.read_at,
            }
            for g in self.groups
        ]

    def to_markdown(self) -> str:
        """The report as a Prefect-artifact-friendly markdown page."""
        lines = [
            f"# sinch-groups sync ({self.mode}{', dry run' if self.dry_run else ''})",
            "",
            f"Sources: {', '.join(self.sources)}  ",
            f"Read {self.rows_read:,} rows: {self.rows_valid:,} valid "
            f"({self.duplicates:,} duplicates), {self.rows_rejected:,} rejected, "
            f"{self.suppressed:,} suppressed. {self.requests:,} requests, {self.retries:,} retries, "
            f"{self.duration_s:.1f} s.",
            "",
            "| group | id | current | to add | to remove | added | removed | api rejected | final"
            " | verified | left | kept out | re-added | joined | joined kept | joined removed"
            " | read at |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        lines += [
            "| " + " | ".join(_markdown_cell(name, value) for name, value in row.items()) + " |"
            for row in self.group_rows()
        ]
        history = [f"- {g.key}: {line}" for g in self.groups for line in g.history_lines()]
        if history:
            lines += ["", "Changes on Sinch's side since the last run:", "", *history]
        if self.notes:
            lines += ["", "Notes:", "", *(f"- {note}" for note in self.notes)]
        if self.rejected_by_reason:
            lines += ["", "| reject reason | rows |", "|---|---:|"]
            lines += [f"| {r} | {n} |" for r, n in sorted(self.rejected_by_reason.items())]
        return "\n".join(lines) + "\n"


def _markdown_cell(column: str, value: object) -> str:
    if value is None:
        return "(new)" if column == "group_id" else "-"
    return str(value)


def write_json_atomic(text: str, path: Where) -> Where:
    """Write the report whole or not at all (`atomic_path`), so a reader never sees half of it."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def write_outputs(report: SyncReport, rejects: pl.DataFrame) -> None:
    """The rejects file, then the report that names it."""
    write_rejects(rejects, str(report.rejects_path))
    write_json_atomic(report.to_json(), str(report.report_path))
