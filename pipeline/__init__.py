"""sinch-groups: keep Sinch SMS recipient groups in step with contact files, and snapshot them.

The package is plain, typed Python with no orchestration in it: `flows/` wraps it in Prefect
flows, and the `sinch-groups` command calls it (in-process) or runs those flows. The stages are
packages and modules: `load`, `phones` (normalize), `sync` (options, plan x live
membership, guard, apply, verify, report, and the engine that orders them), `snapshot` (write,
read, list, diff), `migrate`; `sinch` is the API client, `storage` knows where bytes live.

This page is the public face: each name is imported from its module on first use, so that
`import pipeline.sync.options` (the CLI's `--help`) does not pay for polars and pandera.

    import asyncio, pipeline

    options = pipeline.SyncOptions(source="contacts.csv", group="VIP")
    report = asyncio.run(pipeline.sync_groups(options))  # SINCH_* from the environment
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from pipeline._lazy import lazy_exports

if TYPE_CHECKING:
    from pipeline.errors import PipelineError
    from pipeline.load import LoadResult, load_contacts
    from pipeline.migrate import MigrationResult, migrate_groups, run_migration
    from pipeline.phones import NormalizeResult, normalize
    from pipeline.sinch import Target
    from pipeline.snapshot import (
        MatchOn,
        Snapshot,
        SnapshotDiff,
        SnapshotResult,
        diff_snapshots,
        export_snapshot,
        latest_snapshots,
        list_snapshots,
        open_snapshot,
        upgrade_snapshots,
    )
    from pipeline.sync import LocalSteps, Mode, SyncOptions, SyncReport, run_sync, sync_groups

try:
    __version__ = version("sinch-groups")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "LoadResult": "pipeline.load",
    "LocalSteps": "pipeline.sync",
    "MatchOn": "pipeline.snapshot",
    "MigrationResult": "pipeline.migrate",
    "Mode": "pipeline.sync",
    "NormalizeResult": "pipeline.phones",
    "PipelineError": "pipeline.errors",
    "Snapshot": "pipeline.snapshot",
    "SnapshotDiff": "pipeline.snapshot",
    "SnapshotResult": "pipeline.snapshot",
    "SyncOptions": "pipeline.sync",
    "SyncReport": "pipeline.sync",
    "Target": "pipeline.sinch",
    "diff_snapshots": "pipeline.snapshot",
    "export_snapshot": "pipeline.snapshot",
    "latest_snapshots": "pipeline.snapshot",
    "list_snapshots": "pipeline.snapshot",
    "load_contacts": "pipeline.load",
    "migrate_groups": "pipeline.migrate",
    "normalize": "pipeline.phones",
    "open_snapshot": "pipeline.snapshot",
    "run_migration": "pipeline.migrate",
    "run_sync": "pipeline.sync",
    "sync_groups": "pipeline.sync",
    "upgrade_snapshots": "pipeline.snapshot",
}

__all__ = [
    "LoadResult",
    "LocalSteps",
    "MatchOn",
    "MigrationResult",
    "Mode",
    "NormalizeResult",
    "PipelineError",
    "Snapshot",
    "SnapshotDiff",
    "SnapshotResult",
    "SyncOptions",
    "SyncReport",
    "Target",
    "__version__",
    "diff_snapshots",
    "export_snapshot",
    "latest_snapshots",
    "list_snapshots",
    "load_contacts",
    "migrate_groups",
    "normalize",
    "open_snapshot",
    "run_migration",
    "run_sync",
    "sync_groups",
    "upgrade_snapshots",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
