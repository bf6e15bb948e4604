"""Where a flow gets its Sinch credentials: a Prefect `Secret` block first, the environment second
(and a `--query`'s database URI from a `Secret` block, `database_from_block`).

A deployment's parameters are recorded by Prefect and shown in its UI, so credentials are never a
parameter: workers keep them in a `Secret` block (`sinch-groups-credentials` unless the run names
another) or in `SINCH_*` environment variables. When both exist the block wins, so rotating a
token is one `Secret(...).save(overwrite=True)` however the workers' environments were set up.
"""

from __future__ import annotations

from typing import Any

from prefect.blocks.system import Secret
from pydantic import SecretStr

from pipeline.dburi import DatabaseUri
from pipeline.errors import DatabaseError
from pipeline.sinch import ConfigurationError, Target

DEFAULT_CREDENTIALS_BLOCK = "sinch-groups-credentials"
"""The `Secret` block the flows look for when a run names none."""

CREDENTIAL_FIELDS = ("service_plan_id", "api_token", "project_id", "key_id", "key_secret")
"""What the block replaces wholesale; `region` and `base_url` may come from either side."""
BLOCK_FIELDS = (*CREDENTIAL_FIELDS, "region", "base_url")


async def _load_secret(name: str) -> Any | None:
    """The block's value, or None when no block has this name."""
    try:
        block = await Secret.aload(name)
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return None
    return block.get()


def _values_from_block(name: str, value: Any) -> dict[str, Any]:
    """A block holds a JSON object of `Target` fields, or just the API token as a string."""
    if isinstance(value, str):
        return {"api_token": SecretStr(value)}
    if not isinstance(value, dict) or not set(value) <= set(BLOCK_FIELDS):
        raise ConfigurationError(
            f"the Secret block {name!r} must hold the API token as a string, or an object with "
            f"some of the keys {', '.join(BLOCK_FIELDS)}"
        )
    # Credentials in the block replace the environment's entirely, so the two never mix.
    values: dict[str, Any] = dict.fromkeys(CREDENTIAL_FIELDS)
    values.update({key: item for key, item in value.items() if item not in (None, "")})
    return values


async def resolve_target(env_prefix: str, block_name: str | None) -> Target:
    """The run's target: the named `Secret` block over `{env_prefix}*` variables."""
    value = await _load_secret(block_name) if block_name else None
    if value is None:
        return Target.from_env(env_prefix)
    return Target(_env_prefix=env_prefix, **_values_from_block(block_name or "", value))


async def database_from_block(block_name: str) -> DatabaseUri:
    """A `--query`'s database URI from a `Secret` block holding it as a string: read on the
    worker, so the URI is never a parameter, and rotating a password is one block save."""
    value = await _load_secret(block_name)
    if value is None:
        raise DatabaseError(f"no Secret block named {block_name!r} (--db-block)")
    if not isinstance(value, str) or "://" not in value:
        raise DatabaseError(
            f"the Secret block {block_name!r} must hold the database URI as a string, e.g. "
            "postgresql://user:password@host/db"
        )
    return DatabaseUri(value)
