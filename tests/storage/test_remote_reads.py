"""How much of a remote source a run reads, observed on the wire: an unchanged object is
recognised by its version without a download, a rewritten one is read again, and the columns
line reads only the first bytes of a large CSV. The S3 requests pass through a counting TCP proxy
in front of the moto server; the web server logs what it was asked and counts what it sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from pipeline.load import source_columns, source_locations
from pipeline.load.files import SAMPLE_BYTES
from pipeline.phones.cache import files_digest
from pipeline.storage import ObjectNotFoundError, StorageError
from sinch_emulator import EmulatorServer

from .conftest import S3, CountingProxy, Served

pytestmark = pytest.mark.usefixtures("wide_console")

A = "phone,team\n+447911100001,Red\n+447911100002,Red\n07911 100003,Blue\nnot a number,Blue\n"
A2 = A + "+447911100009,Red\n"


def big_csv(rows: int = 60_000) -> bytes:
    """~2.8 MB: phones in the second column, a decoy `id` column of digits in the first."""
    lines = ["id,Mobile Phone,Country,Note"]
    lines += [f'{i},+4479{i:08d},GB,"a ""quoted"", two-line\nnote {i}"' for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def sync(source: str, report: str) -> dict:
    result = CliRunner().invoke(
        app,
        ["sync", source, "--group-column", "team", "--default-region", "GB",
         "--report", report, "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(Path(report).read_text())


def test_an_unchanged_s3_object_is_not_downloaded_and_a_rewritten_one_is_read_again(
    sinch_env: EmulatorServer, counted_s3: tuple[S3, CountingProxy]
) -> None:
    s3, proxy = counted_s3
    s3.put("in/a.csv", A.encode())
    first = sync(s3.url("in/a.csv"), "first.json")
    assert proxy.gets("in/a.csv") >= 1  # the first run reads it
    proxy.reset()
    again = sync(s3.url("in/a.csv"), "again.json")
    assert proxy.gets("in/a.csv") == 0, proxy.requests  # the cache answered from a HEAD
    assert ("HEAD", f"/{s3.bucket}/in/a.csv") in proxy.requests
    assert again["rows_read"] == first["rows_read"] == 4
    assert again["sources"] == [s3.url("in/a.csv")]

    s3.put("in/a.csv", A2.encode())  # a new ETag: never a false hit
    proxy.reset()
    changed = sync(s3.url("in/a.csv"), "changed.json")
    assert proxy.gets("in/a.csv") >= 1
    assert changed["rows_read"] == 5


def test_the_digest_of_an_s3_object_is_its_version_from_one_head(
    counted_s3: tuple[S3, CountingProxy],
) -> None:
    s3, proxy = counted_s3
    s3.put("in/a.csv", A.encode())
    files = source_locations(s3.url("in/*.csv"))
    proxy.reset()
    digest = files_digest(files)
    assert proxy.gets("in/a.csv") == 0
    assert proxy.answered < 4096
    assert files_digest(files) == digest
    s3.put("in/a.csv", A.encode())  # the same bytes rewritten: a new version, a new digest
    s3.put("in/a.csv", A2.encode())
    assert files_digest(files) != digest
    s3.put("in/b.csv", A.encode())  # the same bytes under another name: another digest
    assert files_digest(source_locations(s3.url("in/b.csv"))) != files_digest(files)


def test_the_columns_of_a_large_s3_csv_come_from_its_first_bytes(
    counted_s3: tuple[S3, CountingProxy], tmp_path: Path
) -> None:
    s3, proxy = counted_s3
    data = big_csv()
    assert len(data) > 2 * SAMPLE_BYTES
    s3.put("in/big.csv", data)
    (tmp_path / "big.csv").write_bytes(data)
    proxy.reset()
    [remote] = source_columns(s3.url("in/big.csv"))
    assert proxy.answered < SAMPLE_BYTES + 64 * 1024, proxy.answered  # one ranged GET
    [local] = source_columns(tmp_path / "big.csv")
    assert remote == local
    assert remote.phone == "Mobile Phone"
    assert remote.region == "Country"


def test_a_small_s3_csv_is_fetched_whole_once_for_the_columns_and_the_load(
    counted_s3: tuple[S3, CountingProxy],
) -> None:
    from pipeline.load import load_contacts

    s3, proxy = counted_s3
    s3.put("in/a.csv", A.encode())
    proxy.reset()
    source_columns(s3.url("in/a.csv"))
    assert load_contacts(s3.url("in/a.csv")).rows == 4
    assert proxy.gets("in/a.csv") == 1  # the load reuses the copy the columns line fetched


def test_a_missing_s3_object_still_fails_with_the_masked_url(
    counted_s3: tuple[S3, CountingProxy],
) -> None:
    s3, _ = counted_s3
    with pytest.raises(ObjectNotFoundError, match=r"s3://test-\w+/in/none\.csv"):
        source_columns(s3.url("in/none.csv"))


def test_an_http_file_with_an_etag_is_recognised_from_a_head(
    versioned_web: tuple[str, Served],
) -> None:
    url, served = versioned_web
    served.body = A.encode()
    files = source_locations(url)
    digest = files_digest(files)
    assert files_digest(files) == digest
    assert [method for method, _ in served.log] == ["HEAD", "HEAD"]  # no GET
    served.etag = '"v2"'
    assert files_digest(files) != digest


def test_an_http_file_without_validators_is_digested_by_its_bytes(
    versioned_web: tuple[str, Served],
) -> None:
    url, served = versioned_web
    served.body, served.etag = A.encode(), None
    files = source_locations(url)
    digest = files_digest(files)
    assert [method for method, _ in served.log] == ["HEAD", "GET"]
    served.body = A2.encode()
    assert files_digest(files) != digest


def test_the_columns_of_a_large_http_csv_come_from_a_range_request(
    versioned_web: tuple[str, Served],
) -> None:
    url, served = versioned_web
    served.body = big_csv()
    [found] = source_columns(url)
    assert found.phone == "Mobile Phone"
    assert served.log == [("GET", f"bytes=0-{SAMPLE_BYTES - 1}")]
    assert served.sent == SAMPLE_BYTES


def test_http_errors_read_as_before(versioned_web: tuple[str, Served]) -> None:
    url, _ = versioned_web
    missing = url.replace("big.csv", "gone.csv")
    with pytest.raises(ObjectNotFoundError, match=r"gone\.csv: not found \(HTTP 404\)"):
        source_columns(missing)
    with pytest.raises(ObjectNotFoundError, match=r"gone\.csv: not found \(HTTP 404\)"):
        files_digest(source_locations(missing))
    with pytest.raises(StorageError, match="cannot connect"):
        source_columns("http://127.0.0.1:9/x.csv")
