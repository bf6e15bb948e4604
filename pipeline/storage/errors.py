"""What reading or writing a location can fail with; every message names the location masked.

PipelineError
├── StorageError                    a store refused or the connection failed (.location)
│   └── ObjectNotFoundError         nothing there (also a SourceNotFoundError)
└── SourceNotFoundError
"""

from __future__ import annotations

from pipeline.errors import PipelineError, SourceNotFoundError

__all__ = ["ObjectNotFoundError", "StorageError"]


class StorageError(PipelineError):
    """Reading, listing or writing a remote location failed; the message says why and never
    holds a secret (locations print masked)."""


class ObjectNotFoundError(StorageError, SourceNotFoundError):
    """A URL that names nothing: no object, no bucket, or an HTTP 404."""
