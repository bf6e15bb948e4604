"""The state on disk: a base that cannot be written is reported, never a traceback, and the
ledger's entries follow a group's name to a group created again under it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.sync.apply import ApplyResult, VerifyResult
from pipeline.sync.history import compare
from pipeline.sync.memory import Memory, StateNotSavedError
from pipeline.sync.options import Mode
from pipeline.sync.plan import EMPTY, plan_group
from pipeline.sync.state import BaseRecord, OptOutLedger, StateStore

A, B = "+447911100001", "+447911100002"


def numbers(*values: str) -> pl.Series:
    return pl.Series("phone_e164", list(values), dtype=pl.String)


def test_a_base_that_cannot_be_written_is_one_error_naming_the_group(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state folder should be", encoding="utf-8")
    memory = Memory(StateStore(blocker, "plan"), OptOutLedger(tmp_path / "optouts"), "plan")
    plan = plan_group(
        key="Promo", group_id="01G", name="Promo", current=numbers(A),
        desired=numbers(A, B), suppressed=EMPTY, mode=Mode.ADD,
    )  # fmt: skip
    verified = VerifyResult(key="Promo", group_id="01G", size=2, missing=[], unexpected=[])
    with pytest.raises(StateNotSavedError) as raised:
        memory.after_verify(
            plans=[plan],
            results=[ApplyResult(key="Promo", group_id="01G", added=1)],
            checks=[verified],
            histories={"Promo": compare(None, numbers(A), EMPTY)},
            record=BaseRecord(run_id="r", written_at="t", source_digest="d", mode="add"),
        )
    message = str(raised.value)
    assert message.startswith("the base of 'Promo' (")
    assert message.endswith(
        f"could not be saved in {blocker}: the changes were applied; the next run plans those "
        "groups from the live membership and the opt-out ledger"
    )


def test_the_ledger_keeps_a_name_s_opt_outs_for_a_group_not_created_yet(tmp_path: Path) -> None:
    ledger = OptOutLedger(tmp_path)
    ledger.record("plan", "01OLD", "Promo", numbers(B), "run-1")
    ledger.record("other-plan", "01ELSE", "Promo", numbers(A), "run-1")
    assert ledger.numbers("plan", None, "Promo").to_list() == [B]
    assert ledger.numbers("plan", "01NEW", "Promo").to_list() == [B]
    assert ledger.numbers("plan", "01NEW", "Other").to_list() == []
    assert ledger.numbers("plan", "01OLD").to_list() == [B]
