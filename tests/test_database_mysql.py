"""`sync --query ... --db mysql://...` on a real MariaDB server (`tests/mysql_server.py`).

The contacts of `tests/test_database_source.py` sit in a table of VARCHAR columns (the numbers
are text, as a CRM stores them: `+44 (0)7507 123456`, `07400 123456`), read through PyMySQL's
unbuffered cursor. A sync from the query and from the same contacts in a CSV file agree, in one
batch or many; the password shows nowhere, and a refused login or a missing table is one
`Error:` line naming the database masked.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from pipeline.dburi import DatabaseUri
from pipeline.load import load_query, query_columns
from sinch_emulator import EmulatorServer
from tests.mysql_server import MysqlServer, running_mysql
from tests.reliability.helpers import assert_one_line_error
from tests.test_database_source import (
    PASSWORD,
    QUERY,
    assert_a_query_syncs_as_its_file_does,
    assert_many_batches_sync_as_one,
    assert_small_batches_read_as_one,
    assert_the_password_stays_out_of_a_run,
    contacts,
    sync,
)

pytestmark = pytest.mark.usefixtures("wide_console")

SPARSE_ROWS = 250
"""Rows of `crm_sparse` whose segment is NULL before the first that has one."""


@pytest.fixture(autouse=True)
def local_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sync here runs in process, none through a Prefect API."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


@pytest.fixture(scope="session")
def mysql() -> Iterator[MysqlServer]:
    """The server, with `crm_contacts` (the shared contacts) and `crm_sparse` (a segment that
    is NULL in all but the last row)."""
    with running_mysql("crm", PASSWORD) as server:
        connection = server.connect()
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE crm_contacts (row_id INT PRIMARY KEY, contact_id VARCHAR(32), "
                "mobile VARCHAR(64), country VARCHAR(64), segment VARCHAR(32))"
            )
            cursor.executemany(
                "INSERT INTO crm_contacts VALUES (%s, %s, %s, %s, %s)", contacts().rows()
            )
            cursor.execute("CREATE TABLE crm_sparse (row_id INT, mobile VARCHAR(64), segment TEXT)")
            sparse = [(i, f"+44 7400 {i:06d}", None) for i in range(1, SPARSE_ROWS + 1)]
            cursor.executemany(
                "INSERT INTO crm_sparse VALUES (%s, %s, %s)",
                [*sparse, (SPARSE_ROWS + 1, "07400 999999", "VIP")],
            )
            connection.commit()
        yield server


def test_the_same_contacts_give_the_same_run_from_a_file_and_from_a_mysql_query(
    mysql: MysqlServer, fresh_emulator: Callable[[], EmulatorServer], tmp_path: Path
) -> None:
    assert_a_query_syncs_as_its_file_does(mysql.uri(), fresh_emulator, tmp_path)


@pytest.mark.parametrize("scheme", ["mysql", "mariadb", "mysql+pymysql"])
def test_a_mysql_query_read_in_small_batches_keeps_every_number_as_its_text(
    scheme: str, mysql: MysqlServer
) -> None:
    phones = assert_small_batches_read_as_one(mysql.uri(scheme=scheme))["phone_raw"]

    assert phones.dtype == pl.String
    assert "+44 (0)7507 123456" in phones.to_list()  # a leading +
    assert "07400 123456" in phones.to_list()  # a leading 0 (trunk prefix)


def test_a_mysql_query_larger_than_the_batch_size_syncs_as_one_batch_does(
    mysql: MysqlServer,
    fresh_emulator: Callable[[], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert_many_batches_sync_as_one(mysql.uri(), fresh_emulator, monkeypatch, tmp_path)


def test_a_mysql_column_null_in_its_first_rows_is_read_to_its_end(mysql: MysqlServer) -> None:
    """PyMySQL hands over rows, not typed columns: a batch is typed from all its rows."""
    query = "SELECT mobile, segment FROM crm_sparse ORDER BY row_id"
    frame = load_query(query, DatabaseUri(mysql.uri()), group_column="segment").frame

    assert frame.height == SPARSE_ROWS + 1
    assert frame["group"].to_list() == [None] * SPARSE_ROWS + ["VIP"]
    assert frame["phone_raw"][-1] == "07400 999999"


def test_the_mysql_password_never_appears_in_the_output_report_or_rejects(
    mysql: MysqlServer, fresh_emulator: Callable[[], EmulatorServer], tmp_path: Path
) -> None:
    assert_the_password_stays_out_of_a_run(mysql.uri(), fresh_emulator, tmp_path)


@pytest.mark.parametrize(
    ("broken", "expected"),
    [("wrong password", "Access denied for user 'crm'"), ("unreachable host", "refused")],
    ids=["wrong password", "unreachable host"],
)
def test_a_mysql_connection_that_fails_is_one_line_with_the_masked_uri(
    broken: str, expected: str, mysql: MysqlServer, sinch_env: EmulatorServer
) -> None:
    wrong = broken == "wrong password"
    password, port = (PASSWORD + "-wrong", mysql.port) if wrong else (PASSWORD, 1)
    uri = f"mysql://crm:{password}@127.0.0.1:{port}/crm"
    result = sync("--query", QUERY, "--db", uri, "--group", "News")

    assert result.exit_code == 1
    line = assert_one_line_error(result.output)
    assert f"mysql://crm:***@127.0.0.1:{port}/crm" in line
    assert expected in line
    assert PASSWORD not in result.output


def test_a_mysql_query_on_a_missing_table_names_the_database_masked(mysql: MysqlServer) -> None:
    result = sync("--query", "SELECT mobile FROM nowhere", "--db", mysql.uri(), "--group", "x")

    assert result.exit_code == 1
    line = assert_one_line_error(result.output)
    assert f"cannot read from mysql://crm:***@127.0.0.1:{mysql.port}/crm" in line
    assert "Table 'crm.nowhere' doesn't exist" in line
    assert PASSWORD not in result.output


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_large_mysql_result_is_streamed_and_left_unread_without_a_complaint(
    mysql: MysqlServer,
) -> None:
    """The columns line reads the first rows of 20 million (MariaDB's SEQUENCE engine) and
    hangs up: PyMySQL must neither read the rest nor complain when its cursor is collected."""
    query = "SELECT CONCAT('+44 7400 ', seq) AS mobile, 'GB' AS country FROM seq_1_to_20000000"
    started = time.monotonic()
    columns = query_columns(query, DatabaseUri(mysql.uri()))
    gc.collect()

    assert (columns[0].phone, columns[0].region) == ("mobile", "country")
    assert time.monotonic() - started < 20  # reading every row takes about 45 s
