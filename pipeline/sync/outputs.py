"""Every place a sync writes, checked before its first write to Sinch; and a place to put the
report when writing it fails after the groups were changed anyway.

A report that cannot be written after the apply is the worst moment to find out: the groups
changed and nobody can see how. So each output is checked at the start (a file path must not be
a folder and its folder must be creatable; a folder must be one; on object storage the bucket must
exist and answer a listing; an http(s) URL is refused, being read-only), and the report of a run
whose outputs still fail goes to `$SINCH_GROUPS_HOME/runs/` instead, with an error that says
where.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipeline.errors import PipelineError
from pipeline.storage import Location, StorageError, Where, home_dir, location, native
from pipeline.sync.options import SyncOptions
from pipeline.sync.report import SyncReport, write_outputs

__all__ = [
    "OutputNotWritableError",
    "OutputWriteError",
    "check_outputs",
    "output_paths",
    "write_or_fall_back",
]


class OutputNotWritableError(PipelineError):
    """An output the run would write cannot be written; found before anything was changed."""


class OutputWriteError(PipelineError):
    """Writing the run's outputs failed after the groups were changed; the report went to a
    fallback place, named in the message."""


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path.cwd()


def _check_creatable(folder: Path, option: str, path: Path) -> None:
    """`folder` exists as a folder we can write in, or can be created."""
    ancestor = _existing_ancestor(folder)
    if not ancestor.is_dir():
        raise OutputNotWritableError(
            f"{option} {path}: {ancestor} is a file, not a folder; choose a path in a folder"
        )
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as error:
        raise OutputNotWritableError(
            f"{option} {path}: cannot write in {ancestor} ({error.strerror or error}); "
            "choose a folder you can write to"
        ) from None


def check_remote(place: Location, option: str) -> None:
    """An output URL: object storage whose bucket exists and can be listed with the credentials
    in effect (a listing proves the bucket and the keys; a write is not tried, it would leave an
    object behind)."""
    if place.kind == "http":
        raise OutputNotWritableError(
            f"{option} {place}: http(s) URLs are read-only; give a path or an s3://, gs://, az:// URL"
        )
    try:
        place.parent.is_dir()
    except StorageError as error:
        raise OutputNotWritableError(f"{option} {error}") from None


def check_file(path: Where, option: str, example: str) -> None:
    """An output file: not a folder, in a folder that exists or can be created."""
    if not location(path).is_local:
        check_remote(location(path), option)
        return
    path = Path(path)
    try:
        is_dir = path.is_dir()
    except OSError as error:  # a name too long, a path through a file, ...
        raise OutputNotWritableError(
            f"{option} {path}: {error.strerror or error}; choose another path"
        ) from None
    if is_dir:
        raise OutputNotWritableError(
            f"{option} {path} is a folder; give a file path, such as {path / example}"
        )
    _check_creatable(path.parent, option, path)


def check_folder(path: Where, option: str) -> None:
    """An output folder: a folder, or a path where one can be created."""
    if not location(path).is_local:
        check_remote(location(path) / "_", option)
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputNotWritableError(f"{option} {path} is a file; give a folder")
    _check_creatable(path, option, path)


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def output_paths(
    options: SyncOptions, started: datetime
) -> tuple[Path | Location, Path | Location]:
    """(rejects, report): where the options say, else ./sinch-groups-runs/<UTC time>/."""
    run_dir = Path("sinch-groups-runs") / _stamp(started)
    rejects = native(options.rejects) if options.rejects else run_dir / "rejects.parquet"
    report = native(options.report) if options.report else run_dir / "report.json"
    return rejects, report


def check_outputs(options: SyncOptions, started: datetime) -> None:
    """Raise OutputNotWritableError for the first output of the run that cannot be written.

    Run before anything slow starts and again by the engine (a flow run's worker may see another
    filesystem than the command that started it). A dry run writes its report and rejects too,
    but no state.
    """
    rejects, report = output_paths(options, started)
    check_file(rejects, "--rejects", "rejects.parquet")
    check_file(report, "--report", "report.json")
    if options.dry_run:
        return
    from pipeline.sync.state import default_optouts_dir, default_state_dir

    check_folder(options.state or default_state_dir(), "--state")
    check_folder(options.optouts or default_optouts_dir(), "--optouts")


def fallback_dir(now: datetime | None = None) -> Path:
    """Where a run's report goes when its own paths fail: `$SINCH_GROUPS_HOME/runs/<UTC time>/`."""
    return home_dir() / "runs" / _stamp(now or datetime.now(UTC))


def write_or_fall_back(report: SyncReport, rejects: pl.DataFrame) -> None:
    """Write the rejects and the report where the options said; when that fails, write both to
    `fallback_dir()` and raise OutputWriteError naming it (the run's changes stand)."""
    try:
        write_outputs(report, rejects)
        return
    except OSError as error:
        reason = f"{type(error).__name__}: {error.strerror or error}"
    except StorageError as error:
        reason = str(error)
    folder = fallback_dir()
    fallen = replace(
        report,
        rejects_path=str(folder / Path(report.rejects_path or "rejects.parquet").name),
        report_path=str(folder / "report.json"),
        notes=[*report.notes, f"the outputs could not be written where asked ({reason})"],
    )
    changed = "nothing was changed" if report.dry_run else "the changes were applied"
    try:
        write_outputs(fallen, rejects)
    except OSError as second:
        raise OutputWriteError(
            f"could not write the report and rejects where asked ({reason}), nor in {folder} "
            f"({type(second).__name__}: {second.strerror or second}); {changed}; the report "
            "is lost: run again (with --dry-run to see the state without changing it)"
        ) from None
    raise OutputWriteError(
        f"could not write the report and rejects where asked ({reason}); {changed}; the report is at "
        f"{fallen.report_path} and the rejects at {fallen.rejects_path}"
    )
