"""`sync --query ... --db URI`: a database's rows are contacts exactly as a file's are.

The same messy contacts (every kind of number the CRM samples hold, in groups and countries) are
synced from a CSV file and from a query on a real PostgreSQL server (`tests/postgres_server.py`),
a SQLite file and a DuckDB file, each into its own fresh emulator: the reports, memberships and
rejects agree. The URI's password never shows in an output, a file, an error or a flow run's
parameters. MySQL (a throwaway MariaDB) is in `tests/test_database_mysql.py`, through the
`assert_...` helpers here.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from flows.cli import app
from pipeline.dburi import DEFAULT_DB_ENV, DatabaseUri, mask_uri
from pipeline.errors import DatabaseError
from pipeline.load import database, load_query
from pipeline.sync.options import SyncOptions, SyncOptionsError
from sinch_emulator import EmulatorServer
from tests.live import members_by_name
from tests.postgres_server import PostgresServer, running_postgres
from tests.reliability.helpers import assert_one_line_error
from tests.test_two_runners import comparable_report

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PASSWORD = "pw-SECRET-canary-db-4242"
QUERY = "SELECT contact_id, mobile, country, segment FROM crm_contacts ORDER BY row_id"

pytestmark = pytest.mark.usefixtures("wide_console")


def contacts() -> pl.DataFrame:
    """The messy CRM sample (national, trunk-0, 00-prefixed, Excel-damaged, empty numbers...),
    with countries, and a segment per row: VIP, News, or none (a `no_group` reject)."""
    sample = pl.read_csv(SAMPLES / "crm_export_messy.csv", separator=";", infer_schema=False)
    segments = ["VIP", "News", "VIP", "", "News"]
    return pl.DataFrame(
        {
            "row_id": list(range(1, sample.height + 1)),
            "contact_id": sample["Contact ID"],
            "mobile": sample["Mobile Phone"],
            "country": sample["Country"],
            "segment": [segments[i % len(segments)] or None for i in range(sample.height)],
        }
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres("crm", PASSWORD) as server:
        contacts().write_database("crm_contacts", server.uri(), engine="adbc")
        yield server


@pytest.fixture(scope="session")
def sqlite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "crm.sqlite"
    frame = contacts()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE crm_contacts (row_id INTEGER, contact_id TEXT, mobile TEXT, "
            "country TEXT, segment TEXT)"
        )
        connection.executemany("INSERT INTO crm_contacts VALUES (?, ?, ?, ?, ?)", frame.rows())
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def duckdb_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("duckdb") / "crm.duckdb"
    frame = contacts()  # noqa: F841 (read by DuckDB's replacement scan)
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE crm_contacts AS SELECT * FROM frame")
    return f"duckdb:///{path}"


@pytest.fixture
def uris(postgres: PostgresServer, sqlite_uri: str, duckdb_uri: str) -> dict[str, str]:
    return {"postgresql": postgres.uri(), "sqlite": sqlite_uri, "duckdb": duckdb_uri}


def sync(*args: str) -> Result:
    return CliRunner().invoke(app, ["sync", *args, "--no-progress"], terminal_width=250)


def outputs(folder: Path) -> list[str]:
    return ["--report", str(folder / "report.json"), "--rejects", str(folder / "rejects.csv")]


def report_of(folder: Path) -> dict[str, object]:
    """The report without what differs by nature (`sources` is checked on its own)."""
    report = comparable_report(folder / "report.json")
    report.pop("sources")
    return report


def rejects_of(folder: Path) -> pl.DataFrame:
    return pl.read_csv(folder / "rejects.csv", infer_schema=False).drop("source_file")


def assert_a_query_syncs_as_its_file_does(
    uri: str, fresh_emulator: Callable[[], EmulatorServer], tmp_path: Path
) -> None:
    """`contacts()` synced from a CSV file and from `QUERY` on `uri`, each into a fresh emulator:
    the same report, memberships and rejects, and the columns line."""
    source = tmp_path / "contacts.csv"
    contacts().drop("row_id").write_csv(source)
    common = ["--group-column", "segment", "--default-region", "GB"]
    runs = {}
    for name, input_args in (
        ("file", [str(source)]),
        ("query", ["--query", QUERY, "--db", uri]),
    ):
        server = fresh_emulator()
        result = sync(*input_args, *common, *outputs(tmp_path / name))
        assert result.exit_code == 0, result.output
        runs[name] = (result, asyncio.run(members_by_name(server)))

    assert report_of(tmp_path / "query") == report_of(tmp_path / "file")
    assert runs["query"][1] == runs["file"][1]
    assert set(runs["query"][1]) == {"VIP", "News"}
    assert json.loads((tmp_path / "query" / "report.json").read_text())["sources"] == [QUERY]
    # The same rejects; a CSV's header is line 1, a query's first row is row 1.
    from_file, from_query = rejects_of(tmp_path / "file"), rejects_of(tmp_path / "query")
    assert from_query.drop("source_line").equals(from_file.drop("source_line"))
    lines = from_file["source_line"].cast(pl.Int64) - 1
    assert from_query["source_line"].cast(pl.Int64).to_list() == lines.to_list()
    assert "phone column: 'mobile' (detected); country column: 'country' (detected)" in (
        runs["query"][0].output
    )


def assert_small_batches_read_as_one(uri: str) -> pl.DataFrame:
    """`QUERY` on `uri` read 4 rows a batch gives the raw frame of one batch; returns it."""
    db = DatabaseUri(uri)
    whole = load_query(QUERY, db, group_column="segment", batch_rows=1_000_000).frame
    batched = load_query(QUERY, db, group_column="segment", batch_rows=4).frame

    assert batched.equals(whole)
    assert whole["source_line"].to_list() == list(range(1, contacts().height + 1))
    assert whole["source_file"].unique().to_list() == ["query"]
    assert whole["phone_raw"].to_list() == contacts()["mobile"].to_list()
    return whole


def assert_many_batches_sync_as_one(
    uri: str,
    fresh_emulator: Callable[[], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A sync of `QUERY` on `uri` read 3 rows a batch (`QUERY_BATCH_ROWS`) and in one batch:
    the same report, rejects and memberships."""
    args = ["--query", QUERY, "--db", uri, "--group-column", "segment"]
    memberships = []
    for name, rows in (("one", 1_000_000), ("many", 3)):
        monkeypatch.setattr(database, "QUERY_BATCH_ROWS", rows)
        server = fresh_emulator()
        result = sync(*args, "--default-region", "GB", *outputs(tmp_path / name))
        assert result.exit_code == 0, result.output
        memberships.append(asyncio.run(members_by_name(server)))

    assert report_of(tmp_path / "many") == report_of(tmp_path / "one")
    assert rejects_of(tmp_path / "many").equals(rejects_of(tmp_path / "one"))
    assert memberships[0] == memberships[1]


def assert_the_password_stays_out_of_a_run(
    uri: str, fresh_emulator: Callable[[], EmulatorServer], tmp_path: Path
) -> None:
    """A sync of `QUERY` on `uri` (whose password is `PASSWORD`): not in the output or a file."""
    fresh_emulator()
    result = sync("--query", QUERY, "--db", uri, "--group", "News", *outputs(tmp_path))

    assert result.exit_code == 0, result.output
    for text in (result.output, *(p.read_text() for p in tmp_path.iterdir())):
        assert PASSWORD not in text


@pytest.mark.parametrize("backend", ["postgresql", "sqlite", "duckdb"])
def test_the_same_contacts_give_the_same_run_from_a_file_and_from_a_query(
    backend: str,
    uris: dict[str, str],
    fresh_emulator: Callable[[], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert_a_query_syncs_as_its_file_does(uris[backend], fresh_emulator, tmp_path)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite", "duckdb"])
def test_a_query_read_in_small_batches_gives_the_rows_of_one_batch(
    backend: str, uris: dict[str, str]
) -> None:
    assert_small_batches_read_as_one(uris[backend])


def test_a_query_larger_than_the_batch_size_syncs_as_one_batch_does(
    duckdb_uri: str,
    fresh_emulator: Callable[[], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert_many_batches_sync_as_one(duckdb_uri, fresh_emulator, monkeypatch, tmp_path)


def test_the_password_never_appears_in_the_output_report_or_rejects(
    postgres: PostgresServer,
    fresh_emulator: Callable[[], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert_the_password_stays_out_of_a_run(postgres.uri(), fresh_emulator, tmp_path)


def test_through_prefect_the_uri_is_no_flow_parameter(
    postgres: PostgresServer,
    fresh_emulator: Callable[[], EmulatorServer],
    prefect_harness: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    monkeypatch.delenv(DEFAULT_DB_ENV, raising=False)
    server = fresh_emulator()
    result = sync("--query", QUERY, "--db", postgres.uri(), "--group", "News", *outputs(tmp_path))
    assert result.exit_code == 0, result.output
    assert asyncio.run(members_by_name(server))["News"]

    from prefect import get_client

    async def parameters() -> list[dict[str, object]]:
        async with get_client() as client:
            runs = await client.read_flow_runs(limit=5, sort="EXPECTED_START_TIME_DESC")
            return [run.parameters for run in runs]

    recorded = asyncio.run(parameters())[0]
    assert recorded["query"] == QUERY
    assert recorded["db_env"] == DEFAULT_DB_ENV
    assert PASSWORD not in json.dumps(asyncio.run(parameters()))
    assert PASSWORD not in result.output


@pytest.mark.parametrize("broken", ["wrong password", "unreachable host"])
def test_a_connection_that_fails_is_one_line_with_the_masked_uri(
    broken: str, postgres: PostgresServer, sinch_env: EmulatorServer, tmp_path: Path
) -> None:
    uri = postgres.uri(password=PASSWORD + "-wrong")
    if broken == "unreachable host":
        uri = f"postgresql://crm:{PASSWORD}@127.0.0.1:1/postgres"
    result = sync("--query", QUERY, "--db", uri, "--group", "News")

    assert result.exit_code == 1
    line = assert_one_line_error(result.output)
    assert "postgresql://crm:***@127.0.0.1:" in line
    assert PASSWORD not in result.output
    expected = "password authentication failed" if broken == "wrong password" else "refused"
    assert expected in line


def test_a_query_on_a_missing_table_names_the_database_masked(postgres: PostgresServer) -> None:
    result = sync("--query", "SELECT mobile FROM nowhere", "--db", postgres.uri(), "--group", "x")

    line = assert_one_line_error(result.output)
    assert "nowhere" in line
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--query", QUERY], "--query needs a database: pass --db URI"),
        (["contacts.csv", "--query", QUERY, "--db", "sqlite:///x"], "not both"),
        (["--db", "sqlite:///x"], "nothing to read"),
        (["c.csv", "--db", "sqlite:///x"], "go with --query"),
        (["--query", QUERY, "--db", "sqlite:///x", "--db-env", "X"], "name the query's database"),
        (["--query", QUERY, "--db-env", "NOT_SET_ANYWHERE"], "$NOT_SET_ANYWHERE, which is not"),
    ],
)
def test_a_query_without_a_database_or_with_a_source_fails_before_anything_starts(
    args: list[str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SINCH_BASE_URL", "SINCH_SERVICE_PLAN_ID", "SINCH_API_TOKEN", DEFAULT_DB_ENV):
        monkeypatch.delenv(name, raising=False)
    result = sync(*args, "--group", "News")

    assert result.exit_code == 1
    assert expected in assert_one_line_error(result.output)
    assert result.output.count("\n") == 1  # not even the embedded emulator's note


def test_the_uri_can_come_from_an_environment_variable(
    sqlite_uri: str,
    fresh_emulator: Callable[[], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("CRM_DB_URL", sqlite_uri)
    server = fresh_emulator()
    result = sync("--query", QUERY, "--db-env", "CRM_DB_URL", "--group", "News", *outputs(tmp_path))

    assert result.exit_code == 0, result.output
    assert asyncio.run(members_by_name(server))["News"]


def test_a_sqlite_column_of_numbers_and_text_asks_for_a_cast(
    sqlite_uri: str, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (mobile)")
        rows = [(447400100000 + i,) for i in range(2_000)] + [("+44 7400 100000",)]
        connection.executemany("INSERT INTO t VALUES (?)", rows)
    db = DatabaseUri(f"sqlite:///{path}")

    with pytest.raises(DatabaseError, match=r"Type mismatch.*CAST\(mobile AS TEXT\)"):
        load_query("SELECT mobile FROM t", db, batch_rows=1_000)
    numbers = load_query("SELECT CAST(mobile AS TEXT) AS mobile FROM t", db, batch_rows=1_000).frame
    assert numbers.height == 2_001


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        (
            "postgresql://crm:hunter2@db.example.com:5432/crm",
            "postgresql://crm:***@db.example.com:5432/crm",
        ),
        ("mysql+pymysql://u:p%40ss@h/db", "mysql+pymysql://u:***@h/db"),
        ("postgresql://h/db?user=u&password=hunter2", "postgresql://h/db?user=u&password=***"),
        ("sqlite:///crm.db", "sqlite:///crm.db"),
    ],
)
def test_a_uri_is_masked_in_every_representation(uri: str, masked: str) -> None:
    db = DatabaseUri(uri)

    assert mask_uri(uri) == masked == db.masked == str(db)
    options = SyncOptions(query="SELECT 1", db=uri, group="x")
    assert masked in repr(options)
    for secret in db.secrets():
        assert secret not in repr(options)
    said = db.scrub(f"failed for {uri} with password {' and '.join(db.secrets())}")
    assert all(secret not in said for secret in db.secrets())
    with pytest.raises(SyncOptionsError, match="never a flow parameter"):
        options.flow_parameters()
