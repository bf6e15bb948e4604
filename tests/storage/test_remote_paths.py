"""Paths and URLs everywhere a path is taken, against real servers on 127.0.0.1: a sync reads an
`s3://` glob and `--suppress` from S3 like local files, writes its rejects, report and state
there; an export goes to S3 and `snapshots list`/`diff` read it; http(s) sources and their
failures; and no secret (the S3 secret key, a password in a URL) in any output."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from pipeline.load import load_contacts
from pipeline.sinch import GroupsClient, Target
from pipeline.snapshot import list_snapshots, write_snapshot
from pipeline.snapshot.select import fetch_group, select_groups
from pipeline.storage import (
    Location,
    ObjectNotFoundError,
    StorageError,
    location,
    masked,
    matching,
    scrub,
)
from sinch_emulator import EmulatorServer
from tests.live import members_by_name, seed_group

from .conftest import S3, S3_SECRET, WEB_CSV, DroppingProxy, s3_env

pytestmark = pytest.mark.usefixtures("wide_console")

A = "phone,team\n+447911100001,Red\n+447911100002,Red\n07911 100003,Blue\nnot a number,Blue\n"
B = "phone,team\n+447911100004,Blue\n+447911100005,Red\n"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_locations_mask_passwords_and_signed_query_strings() -> None:
    url = "https://alice:hunter2@files.example.com/exports/web.csv?X-Amz-Signature=abc&sig=def"

    assert masked(url) == "https://alice:***@files.example.com/exports/web.csv"
    assert str(location("s3://bucket/a/b.csv")) == "s3://bucket/a/b.csv"
    assert location("s3://bucket/a") / "b" / "c.csv" == location("s3://bucket/a/b/c.csv")
    assert location("s3://bucket/a/b.csv").parent == location("s3://bucket/a")
    assert location("az://container/x").parent.key == ""
    assert (
        scrub(f"GET {url} failed")
        == "GET https://alice:***@files.example.com/exports/web.csv failed"
    )
    assert isinstance(location(Path("s3://not/a/url")), Location)
    assert location(Path("s3://x")).is_local  # a Path is never a URL: it ate the second slash


def test_an_s3_glob_loads_like_the_same_local_files(s3: S3, tmp_path: Path) -> None:
    for name, text in (("a.csv", A), ("b.csv", B)):
        (tmp_path / name).write_text(text)
        s3.put(f"in/{name}", text.encode())
    s3.put("in/skip.txt", b"x")
    s3.put("in/deeper/c.csv", B.encode())

    remote = load_contacts(s3.url("in/*.csv"), group_column="team")
    local = load_contacts(str(tmp_path / "*.csv"), group_column="team")

    assert remote.frame.drop("source_file").equals(local.frame.drop("source_file"))
    assert remote.frame["source_file"].unique().sort().to_list() == [
        s3.url("in/a.csv"),
        s3.url("in/b.csv"),
    ]
    assert [str(path) for path in remote.files] == [s3.url("in/a.csv"), s3.url("in/b.csv")]
    assert len(matching(s3.url("in/**/*.csv"))) == 3


def test_missing_objects_and_buckets_are_clear_errors(s3: S3) -> None:
    with pytest.raises(ObjectNotFoundError, match=r"no object matches 's3://.*/in/\*\.csv'"):
        load_contacts(s3.url("in/*.csv"))
    with pytest.raises(ObjectNotFoundError, match=r"s3://.*/nope\.csv: no such object"):
        load_contacts(s3.url("nope.csv"))
    with pytest.raises(StorageError, match="no-such-bucket-here"):
        load_contacts("s3://no-such-bucket-here/x/*.csv")


def test_sync_from_an_s3_glob_with_suppress_rejects_report_and_state_on_s3(
    sinch_env: EmulatorServer, s3: S3, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    for name, text in (("a.csv", A), ("b.csv", B)):
        (tmp_path / "in" / name).write_text(text)
        s3.put(f"in/{name}", text.encode())
    s3.put("lists/optout.csv", b"phone\n+447911100005\n")
    (tmp_path / "optout.csv").write_text("phone\n+447911100005\n")

    def run(source: str, suppress: str, out: str, *extra: str) -> dict:
        code, output = invoke(
            "sync", source, "--group-column", "team", "--default-region", "GB",
            "--suppress", suppress, "--report", f"{out}/report.json",
            "--rejects", f"{out}/rejects.parquet", "--no-progress", *extra,
        )  # fmt: skip
        assert code == 0, output
        assert S3_SECRET not in output
        return json.loads(location(f"{out}/report.json").read_bytes())

    local = run(
        str(tmp_path / "in/*.csv"), str(tmp_path / "optout.csv"), str(tmp_path), "--dry-run"
    )
    state, optouts = s3.url("state"), s3.url("optouts")
    remote = run(
        s3.url("in/*.csv"), s3.url("lists/optout.csv"), s3.url("runs"),
        "--state", state, "--optouts", optouts,
    )  # fmt: skip

    assert remote["sources"] == [s3.url("in/a.csv"), s3.url("in/b.csv")]
    for key in ("rows_read", "rows_valid", "rows_rejected", "rejected_by_reason", "suppressed"):
        assert remote[key] == local[key], key
    assert asyncio.run(members_by_name(sinch_env)) == {
        "Red": {"+447911100001", "+447911100002"},
        "Blue": {"+447911100003", "+447911100004"},
    }
    rejects = pl.read_parquet(s3.url("runs/rejects.parquet"))
    assert rejects.select("source_file", "raw_value").rows() == [
        (s3.url("in/a.csv"), "not a number")
    ]
    bases = [key for key in s3.objects("state/") if key.endswith(".parquet")]
    assert len(bases) == 2  # one base per group, published after verify
    every_byte = b"".join(location(s3.url(key)).read_bytes() for key in s3.objects())
    assert S3_SECRET.encode() not in every_byte


def test_outputs_on_a_missing_bucket_are_refused_before_anything_runs(
    sinch_env: EmulatorServer, s3: S3, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text(A)
    code, output = invoke(
        "sync", str(tmp_path / "a.csv"), "--group-column", "team", "--default-region", "GB",
        "--report", "s3://no-such-bucket-here/report.json", "--no-progress",
    )  # fmt: skip
    assert code == 1
    assert "--report s3://no-such-bucket-here" in output
    assert asyncio.run(members_by_name(sinch_env)) == {}


def test_an_https_source_with_a_password_never_shows_it(
    sinch_env: EmulatorServer, web: str
) -> None:
    url = web.replace("http://", "http://user:hunter2@") + "/web.csv?sig=SECRETSIG"

    code, output = invoke("sync", url, "--group-column", "team", "--no-progress")

    assert code == 0, output
    assert asyncio.run(members_by_name(sinch_env)) == {"Web": {"+447911100001", "+447911100002"}}
    report = next(Path("sinch-groups-runs").glob("*/report.json")).read_text()
    for text in (output, report):
        assert "hunter2" not in text
        assert "SECRETSIG" not in text
    assert "http://user:***@127.0.0.1" in report
    assert location(url).read_bytes() == WEB_CSV


def test_http_failures_are_one_clear_line(sinch_env: EmulatorServer, web: str) -> None:
    code, output = invoke("sync", f"{web}/missing.csv", "--group", "G", "--no-progress")
    assert code == 1
    assert f"{web}/missing.csv: not found (HTTP 404)" in output

    code, output = invoke("sync", f"{web}/cut.csv", "--group", "G", "--no-progress")
    assert code == 1
    assert (
        f"{web}/cut.csv: the server closed the connection before the whole file arrived" in output
    )

    code, output = invoke("sync", f"{web}/*.csv", "--group", "G", "--no-progress")
    assert code == 1
    assert "a web server cannot be listed" in output


def test_export_to_s3_reads_back_lists_and_diffs(
    sinch_env: EmulatorServer, s3: S3, tmp_path: Path
) -> None:
    asyncio.run(seed_group(sinch_env, "Red", ["+447911100001", "+447911100002"]))
    out = s3.url("snaps")

    code, output = invoke("export", "--out", out, "--no-progress")
    assert code == 0, output
    assert f"members: {out}/members/snapshot_at=" in output
    asyncio.run(seed_group(sinch_env, "Blue", ["+447911100003"]))
    assert invoke("export", "--out", out, "--no-progress")[0] == 0

    members = pl.read_parquet(f"{out}/members/*/*.parquet", hive_partitioning=True)
    assert members.height == 5
    assert members.schema["snapshot_at"] == pl.Datetime("us", "UTC")
    assert not [key for key in s3.objects() if "/.tmp-" in key]

    code, listed = invoke("snapshots", "list", out)
    assert code == 0, listed
    assert "2 snapshot(s) in s3://" in listed
    code, compared = invoke("diff", out, "--json", "--out", f"{out}-changes.parquet")
    assert code == 0, compared
    assert json.loads(compared)["status_counts"] == {"created": 1, "unchanged": 1}
    changes = pl.read_parquet(f"{out}-changes.parquet")
    assert changes["phone_e164"].to_list() == ["+447911100003"]


def test_a_connection_dropped_during_an_export_leaves_no_visible_snapshot(
    sinch_env: EmulatorServer, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = [f"+4479112{i:05d}" for i in range(3000)]
    asyncio.run(seed_group(sinch_env, "Big", numbers))
    out = s3.url("snaps")
    target = Target.from_env("SINCH_")

    async def export(taken_at: datetime | None = None) -> None:
        async with GroupsClient.from_target(target) as client:
            groups = await select_groups(client)
            await write_snapshot(
                out, groups, lambda g: fetch_group(client, g), target={}, taken_at=taken_at
            )

    proxy = DroppingProxy(s3.endpoint, budget=12_000)  # the listings pass, the uploads do not
    s3_env(monkeypatch, proxy.url)
    with pytest.raises(Exception, match=r"s3://") as failed:
        asyncio.run(export())
    assert S3_SECRET not in str(failed.value)
    assert "failed" in str(failed.value)
    proxy.close()

    s3_env(monkeypatch, s3.endpoint)
    assert list_snapshots(out) == [] if location(out).is_dir() else True
    assert not [key for key in s3.objects() if key.startswith("snaps/groups/")]
    assert not [key for key in s3.objects() if key.startswith("snaps/members/")]
    leftover = [key for key in s3.objects() if key.startswith("snaps/.tmp-")]
    assert leftover  # the staged members file: invisible to readers, removed by the next export

    later = datetime.now(UTC) + timedelta(minutes=11)
    asyncio.run(export(later))
    [snapshot] = list_snapshots(out)
    assert snapshot.member_count == 3000
    assert not [key for key in s3.objects() if key.startswith("snaps/.tmp-")], leftover


def test_parquet_round_trip_through_polars_on_s3(s3: S3) -> None:
    frame = pl.DataFrame({"phone": ["+447911100001"]})
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    s3.put("f.parquet", buffer.getvalue())

    assert load_contacts(s3.url("f.parquet")).frame["phone_raw"].to_list() == ["+447911100001"]


def test_an_aws_credentials_block_becomes_storage_options_that_reach_s3(s3: S3) -> None:
    from prefect_aws import AwsClientParameters, AwsCredentials

    from flows._storage import options_of
    from pipeline.storage import using_storage_options

    block = AwsCredentials(
        aws_access_key_id="blockkey",
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=s3.endpoint),
    )
    options = options_of(block)
    assert options == {
        "aws_access_key_id": "blockkey",
        "aws_secret_access_key": S3_SECRET,
        "aws_region": "us-east-1",
        "aws_endpoint_url": s3.endpoint,
    }
    s3.put("in/a.csv", A.encode())
    with using_storage_options(options):
        assert load_contacts(s3.url("in/a.csv")).rows == 4


def test_an_unchanged_s3_source_is_answered_by_the_cache_and_still_named_by_its_url(
    sinch_env: EmulatorServer, s3: S3
) -> None:
    s3.put("in/a.csv", A.encode())
    for run in ("first", "again"):
        code, output = invoke(
            "sync", s3.url("in/a.csv"), "--group-column", "team", "--default-region", "GB",
            "--report", f"{run}.json", "--no-progress",
        )  # fmt: skip
        assert code == 0, output
        assert json.loads(Path(f"{run}.json").read_text())["sources"] == [s3.url("in/a.csv")]
