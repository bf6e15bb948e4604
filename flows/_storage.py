"""A deployment's object-storage credentials from a Prefect block, as the library's plain
storage options (object_store keys), on the worker that runs the flow.

The flow parameter names the block, never a key (Prefect records parameters); the library only
ever sees `pipeline.storage.using_storage_options`. AWS (`AwsCredentials`, the `aws` extra:
prefect-aws) is tested; GCP (`GcpCredentials`, prefect-gcp: a service-account file or info) and
Azure (`AzureBlobStorageCredentials`, prefect-azure: a connection string or an account key) are
mapped by the same fields when their collections are installed, and are not tested here.
"""

from __future__ import annotations

import json
from typing import Any

from prefect.blocks.core import Block

__all__ = ["storage_options_from_block"]


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def options_of(block: Any) -> dict[str, str]:
    """The object_store options a credentials block stands for (empty fields left out)."""
    kind = type(block).__name__
    if kind == "AwsCredentials":
        params = getattr(block, "aws_client_parameters", None)
        fields = {
            "aws_access_key_id": block.aws_access_key_id,
            "aws_secret_access_key": _secret(block.aws_secret_access_key),
            "aws_session_token": block.aws_session_token,
            "aws_region": block.region_name,
            "aws_endpoint_url": getattr(params, "endpoint_url", None),
        }
    elif kind == "GcpCredentials":
        info = _secret(getattr(block, "service_account_info", None))
        fields = {
            "google_service_account": getattr(block, "service_account_file", None),
            "google_service_account_key": json.dumps(info) if isinstance(info, dict) else info,
        }
    elif kind == "AzureBlobStorageCredentials":
        fields = {
            "azure_storage_account_name": getattr(block, "account_url", None),
            "azure_storage_connection_string": _secret(getattr(block, "connection_string", None)),
        }
    else:
        raise ValueError(
            f"block {kind} holds no object-storage credentials; use AwsCredentials, "
            "GcpCredentials or AzureBlobStorageCredentials"
        )
    return {key: str(value) for key, value in fields.items() if value}


async def storage_options_from_block(name: str | None) -> dict[str, str]:
    """Load the block named `name` (`aws-credentials/nightly`, or just its name) on the worker."""
    if not name:
        return {}
    loaded = Block.load(name if "/" in name else f"aws-credentials/{name}")
    block = await loaded if hasattr(loaded, "__await__") else loaded
    return options_of(block)
