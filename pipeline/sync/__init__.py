"""The sync: options (`options`), the input prepared (`prepare`), plan x live membership
(`plan`), the removal guard, apply and verify (`apply`), the report (`report`), and the engine
that orders them (`engine`) through a runner (`steps`). Names are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline._lazy import lazy_exports

if TYPE_CHECKING:
    from pipeline.sync.engine import run_sync, sync_groups
    from pipeline.sync.options import Mode, RunnerKind, SyncOptions, SyncOptionsError
    from pipeline.sync.plan import GroupPlan, RemovalGuardError
    from pipeline.sync.report import GroupReport, SyncReport
    from pipeline.sync.steps import LocalSteps

_EXPORTS = {
    "GroupPlan": "pipeline.sync.plan",
    "GroupReport": "pipeline.sync.report",
    "LocalSteps": "pipeline.sync.steps",
    "Mode": "pipeline.sync.options",
    "RemovalGuardError": "pipeline.sync.plan",
    "RunnerKind": "pipeline.sync.options",
    "SyncOptions": "pipeline.sync.options",
    "SyncOptionsError": "pipeline.sync.options",
    "SyncReport": "pipeline.sync.report",
    "run_sync": "pipeline.sync.engine",
    "sync_groups": "pipeline.sync.engine",
}
__all__ = [
    "GroupPlan",
    "GroupReport",
    "LocalSteps",
    "Mode",
    "RemovalGuardError",
    "RunnerKind",
    "SyncOptions",
    "SyncOptionsError",
    "SyncReport",
    "run_sync",
    "sync_groups",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
