"""URLs in the places the first storage tests left out, against real servers on 127.0.0.1: a
deployment's credentials from a Prefect `AwsCredentials` block (flows and `--storage-block`, with
no AWS key in the environment), `migrate --from-snapshot` and `--mapping` on S3, the opt-out
ledger commands on S3, and the new source formats (Excel, gzip, JSON) on S3 and over https."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import ssl
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from pipeline.storage import read_parquet
from pipeline.sync.state import OptOutLedger
from sinch_emulator import DEFAULT_PLAN_ID, EmulatorServer
from tests.certificates import self_signed_for_loopback
from tests.live import members_by_name, seed_group
from tests.workbooks import write_xlsx

from .conftest import S3, S3_SECRET, s3_env

pytestmark = pytest.mark.usefixtures("wide_console")

ROWS = [
    ("phone", "team"),
    ("+447911100001", "Red"),
    ("+447911100002", "Red"),
    ("07911 100003", "Blue"),
    ("not a number", "Blue"),
]
CSV = "".join(f"{phone},{team}\n" for phone, team in ROWS)
BLOCK = "sinch-groups-test-s3"
AWS_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


# --- a Prefect AwsCredentials block, the only credentials there are ----------------------------


@pytest.fixture
def s3_block(s3: S3, prefect_harness: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An `AwsCredentials` block for the moto server, saved to the Prefect API (whose URL the
    CLI reads from the environment)."""
    from prefect_aws import AwsClientParameters, AwsCredentials

    AwsCredentials(
        aws_access_key_id="blockkey",
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=s3.endpoint),
    ).save(BLOCK, overwrite=True)
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    return BLOCK


def only_the_block(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS key, endpoint or shared file left in the environment: only a block reaches S3.
    (AWS_ALLOW_HTTP stays: the test server speaks plain http, which is no credential.)"""
    for name in (*AWS_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


def with_env_credentials(s3: S3, monkeypatch: pytest.MonkeyPatch) -> S3:
    """The AWS_* variables back, for the test's own look at the bucket (boto3)."""
    s3_env(monkeypatch, s3.endpoint)
    return s3


async def run_texts(state: object) -> list[str]:
    """A finished flow run's parameters and logs, as Prefect keeps them."""
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    run_id = state.state_details.flow_run_id  # type: ignore[attr-defined]
    await APILogHandler.aflush()
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
        )
    return [json.dumps(run.parameters, default=str), *(log.message for log in logs)]


async def test_a_sync_flow_reaches_s3_with_credentials_only_from_the_named_block(
    sinch_env: EmulatorServer,
    s3: S3,
    s3_block: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flows.sync_groups import sync_groups

    s3.put("in/a.csv", CSV.encode())
    s3.put("in/stop.csv", b"phone\n+447911100002\n")
    only_the_block(monkeypatch, Path.cwd())
    caplog.set_level("DEBUG")
    state = await sync_groups(
        source=s3.url("in/a.csv"),
        group_column="team",
        default_region="GB",
        suppress=[s3.url("in/stop.csv")],
        rejects=s3.url("out/rejects.csv"),
        report=s3.url("out/report.json"),
        state=s3.url("state"),
        optouts=s3.url("optouts"),
        storage_block=s3_block,
        return_state=True,
    )
    report = await state.result()
    assert (report.rows_valid, report.rows_rejected, report.suppressed) == (3, 1, 1)
    assert await members_by_name(sinch_env) == {
        "Red": {"+447911100001"},
        "Blue": {"+447911100003"},
    }
    seen = [caplog.text, repr(report), *await run_texts(state)]
    assert not [text for text in seen if S3_SECRET in text or "blockkey" in text]
    written = with_env_credentials(s3, monkeypatch).objects()
    assert {"out/rejects.csv", "out/report.json"} <= set(written)
    assert S3_SECRET not in s3_text(s3, "out/report.json")
    assert [key for key in written if key.startswith("state/") and key.endswith(".parquet")]


def test_sync_export_and_migrate_take_the_storage_block_on_the_command_line(
    sinch_env: EmulatorServer, s3: S3, s3_block: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put("in/a.csv", CSV.encode())
    only_the_block(monkeypatch, Path.cwd())
    block = ("--storage-block", s3_block, "--no-progress")

    code, output = invoke(
        "sync", s3.url("in/a.csv"), "--group-column", "team", "--default-region", "GB",
        "--report", s3.url("out/report.json"), *block,
    )  # fmt: skip
    assert code == 0, output
    code, exported = invoke("export", "--out", s3.url("snaps"), *block)
    assert code == 0, exported
    [members] = [line.split(": ", 1)[1] for line in exported.splitlines() if "members:" in line]
    for name, value in {"SERVICE_PLAN_ID": "secondplan", "API_TOKEN": "second-token"}.items():
        monkeypatch.setenv(f"DEST_{name}", value)
    monkeypatch.setenv("DEST_BASE_URL", sinch_env.base_url)
    migrate = ("migrate", "--from-snapshot", members, "--to-env", "DEST_")
    code, migrated = invoke(*migrate, "--mapping", s3.url("mapping.parquet"), *block)
    assert code == 0, migrated
    assert "Groups: 2 create." in migrated
    for text in (output, exported, migrated):
        assert S3_SECRET not in text
        assert "blockkey" not in text

    code, missing = invoke(*migrate, "--storage-block", "no-such-block", "--no-progress")
    assert code == 1
    assert "Error: no Prefect block 'aws-credentials/no-such-block' (--storage-block)" in missing
    report = with_env_credentials(s3, monkeypatch).objects("out/")
    assert report == ["out/report.json"]


async def test_migrate_from_an_s3_snapshot_keeps_its_mapping_on_s3_and_resumes(
    sinch_env: EmulatorServer, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.sinch import GroupsClient, Target
    from pipeline.snapshot import export_snapshot

    await seed_group(sinch_env, "Red", ["+447911100001", "+447911100002"])
    await seed_group(sinch_env, "Blue", ["+447911100003"])
    source = Target.from_env("SINCH_")
    async with GroupsClient.from_target(source) as client:
        snapshot = await export_snapshot(client, s3.url("snaps"), target=source.describe())
    monkeypatch.setenv("DEST_SERVICE_PLAN_ID", "secondplan")
    monkeypatch.setenv("DEST_API_TOKEN", "second-token")
    monkeypatch.setenv("DEST_BASE_URL", sinch_env.base_url)
    migrate = (
        "migrate", "--from-snapshot", str(snapshot.members_path), "--to-env", "DEST_",
        "--mapping", s3.url("migrations/m.parquet"), "--no-progress",
    )  # fmt: skip

    code, first = await asyncio.to_thread(invoke, *migrate)
    assert code == 0, first
    assert "Groups: 2 create. Mapping: " + s3.url("migrations/m.parquet") in first
    mapping = read_parquet(s3.url("migrations/m.parquet"))
    assert sorted(mapping["name"].to_list()) == ["Blue", "Red"]
    code, again = await asyncio.to_thread(invoke, *migrate)
    assert code == 0, again
    assert "create" not in again.split("Groups: ")[1]
    destination = Target.from_env("DEST_")
    async with GroupsClient.from_target(destination) as client:
        names = {g.name: g.id async for g in client.iter_groups()}
        assert set(names) == {"Red", "Blue"}
        assert set(await client.list_members(names["Red"])) == {"+447911100001", "+447911100002"}


# --- the opt-out ledger's commands on S3 ---------------------------------------------------------


def test_the_optouts_commands_read_export_and_forget_a_ledger_on_s3(s3: S3) -> None:
    ledger = OptOutLedger(s3.url("optouts"))
    numbers = pl.Series(["+447911100001", "+447911100002"])
    seen = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    ledger.record(DEFAULT_PLAN_ID, "01GROUP", "=Promo", numbers, "run-1", seen)
    where = ("--optouts", s3.url("optouts"))

    code, listed = invoke("optouts", "list", *where, "--json")
    assert code == 0, listed
    assert [row["phone_e164"] for row in json.loads(listed)] == numbers.to_list()
    code, csv_out = invoke("optouts", "export", "--out", s3.url("audit/optouts.csv"), *where)
    assert code == 0, csv_out
    assert f"to {s3.url('audit/optouts.csv')}" in csv_out
    text = s3_text(s3, "audit/optouts.csv")
    assert text.startswith("\ufeffphone_e164,")
    assert "'=Promo" in text
    assert "+447911100002" in text
    code, parquet_out = invoke("optouts", "export", "--out", s3.url("audit/o.parquet"), *where)
    assert code == 0, parquet_out
    assert read_parquet(s3.url("audit/o.parquet"))["phone_e164"].to_list() == numbers.to_list()

    code, forgot = invoke("optouts", "forget", "+447911100001", "--yes", *where)
    assert code == 0, forgot
    assert ledger.entries()["phone_e164"].to_list() == ["+447911100002"]
    code, empty = invoke("optouts", "list", "--optouts", s3.url("elsewhere"))
    assert code == 0, empty
    assert f"the opt-out ledger at {s3.url('elsewhere')} is empty (the folder does not" in empty


def s3_text(s3: S3, key: str) -> str:
    from pipeline.storage import location

    return location(s3.url(key)).read_bytes().decode("utf-8")


# --- the new source formats, remote ---------------------------------------------------------------


@pytest.fixture
def https_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A folder served over https on 127.0.0.1, and its base URL; the client trusts the server's
    certificate through SSL_CERT_FILE, as a worker behind a corporate CA does."""
    folder = tmp_path / "served"
    folder.mkdir()
    cert, key = self_signed_for_loopback(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def write_formats(folder: Path) -> list[str]:
    """The same contacts as CSV, .xlsx, .csv.gz and JSON; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.csv").write_text(CSV)
    write_xlsx(folder / "a.xlsx", {"Contacts": [list(row) for row in ROWS]})
    (folder / "a.csv.gz").write_bytes(gzip.compress(CSV.encode()))
    objects = [dict(zip(ROWS[0], row, strict=True)) for row in ROWS[1:]]
    (folder / "a.json").write_text(json.dumps(objects))
    return ["a.csv", "a.xlsx", "a.csv.gz", "a.json"]


def planned(source: str, report: Path) -> tuple[object, ...]:
    """What a dry-run sync of `source` plans: rows read, valid, rejected (why), and per group."""
    code, output = invoke(
        "sync", source, "--group-column", "team", "--default-region", "GB", "--dry-run",
        "--report", str(report), "--no-progress",
    )  # fmt: skip
    assert code == 0, output
    found = json.loads(report.read_text())
    groups = sorted((g["key"], g["current"], g["to_add"], g["to_remove"]) for g in found["groups"])
    assert found["sources"] == [source]
    return found["rows_read"], found["rows_valid"], found["rejected_by_reason"], groups


def test_excel_gzip_and_json_sources_on_s3_and_over_https_plan_as_the_local_files(
    sinch_env: EmulatorServer, s3: S3, https_files: tuple[Path, str], tmp_path: Path
) -> None:
    served, base = https_files
    local = tmp_path / "local"
    names = write_formats(local)
    write_formats(served)
    expected = planned(str(local / "a.csv"), tmp_path / "expected.json")
    assert expected[:2] == (4, 3)
    for number, name in enumerate(names):
        s3.put(f"in/{name}", (local / name).read_bytes())
        assert planned(str(local / name), tmp_path / f"local-{number}.json") == expected, name
        assert planned(s3.url("in", name), tmp_path / f"s3-{number}.json") == expected, name
        assert planned(f"{base}/{name}", tmp_path / f"web-{number}.json") == expected, name


class _Secret:
    """What pydantic's SecretStr and Prefect's SecretDict offer: the value on request."""

    def __init__(self, value: object) -> None:
        self.value = value

    def get_secret_value(self) -> object:
        return self.value


def test_gcp_and_azure_blocks_map_to_the_object_store_options_of_their_fields() -> None:
    """prefect-gcp and prefect-azure are not installed here: blocks of the same class names and
    fields stand in, so this checks the mapping only, not a GCS or Azure server."""
    from flows._storage import options_of

    gcp = type("GcpCredentials", (), {})()
    gcp.service_account_file = None
    gcp.service_account_info = _Secret({"type": "service_account", "project_id": "p"})
    assert options_of(gcp) == {
        "google_service_account_key": '{"type": "service_account", "project_id": "p"}'
    }
    azure = type("AzureBlobStorageCredentials", (), {})()
    azure.account_url = None
    azure.connection_string = _Secret(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5==;"
        "BlobEndpoint=https://acct.blob.example.net"
    )
    assert options_of(azure) == {
        "azure_storage_account_name": "acct",
        "azure_storage_account_key": "a2V5==",
        "azure_storage_endpoint": "https://acct.blob.example.net",
    }
    azure.connection_string = None
    azure.account_url = "https://other.blob.core.windows.net"
    assert options_of(azure) == {"azure_storage_account_name": "other"}
