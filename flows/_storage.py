"""A deployment's object-storage credentials from a Prefect block, as the library's plain
storage options (object_store keys), on the worker that runs the flow.

The flow parameter names the block, never a key (Prefect records parameters); the library only
ever sees `pipeline.storage.using_storage_options`. AWS (`AwsCredentials`, the `aws` extra:
prefect-aws) is tested end to end against an S3 server. GCP (`GcpCredentials`, prefect-gcp: a
service-account file or info) and Azure (`AzureBlobStorageCredentials`, prefect-azure: a
connection string, or an account URL with the credentials left to the environment) are mapped
field by field when their collections are installed; only that mapping is tested (neither
collection is installed here, nor a GCS or Azure server).

object_store has no connection-string option, so an Azure connection string is taken apart
into the options it stands for (account name and key, SAS token, blob endpoint, emulator).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from prefect.blocks.core import Block

from pipeline.storage import StorageError

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
        # `https://ACCOUNT.blob.core.windows.net`: the account; its credentials are the worker's.
        host = urlsplit(str(getattr(block, "account_url", None) or "")).hostname or ""
        fields = _azure_connection(_secret(getattr(block, "connection_string", None)) or "")
        fields["azure_storage_account_name"] = (
            fields["azure_storage_account_name"] or host.split(".")[0] or None
        )
    else:
        raise StorageError(
            f"block {kind} holds no object-storage credentials; use AwsCredentials, "
            "GcpCredentials or AzureBlobStorageCredentials"
        )
    return {key: str(value) for key, value in fields.items() if value}


def _azure_connection(text: str) -> dict[str, str | None]:
    """The object_store options of an Azure connection string (`AccountName=...;AccountKey=...`)."""
    parts = dict(part.split("=", 1) for part in text.split(";") if "=" in part)
    emulator = parts.get("UseDevelopmentStorage", "").lower() == "true"
    return {
        "azure_storage_account_name": parts.get("AccountName"),
        "azure_storage_account_key": parts.get("AccountKey"),
        "azure_storage_sas_key": parts.get("SharedAccessSignature"),
        "azure_storage_endpoint": parts.get("BlobEndpoint"),
        "azure_storage_use_emulator": "true" if emulator else None,
    }


async def storage_options_from_block(name: str | None) -> dict[str, str]:
    """Load the block named `name` (`aws-credentials/nightly`, or just its name) on the worker.

    A missing block is a StorageError naming it, so the CLI prints one line, not a traceback.
    """
    if not name:
        return {}
    slug = name if "/" in name else f"aws-credentials/{name}"
    try:
        block = await Block.aload(slug)
    except ValueError:  # Prefect's "Unable to find block document named ..."
        raise StorageError(
            f"no Prefect block {slug!r} (--storage-block): save an AwsCredentials, "
            "GcpCredentials or AzureBlobStorageCredentials block under that name"
        ) from None
    return options_of(block)
