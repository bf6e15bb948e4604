"""Fixtures for the reliability tests: a server-side log of injected faults, a watch on the
emulator's traffic, and the soak's seeds (SOAK_SEEDS)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from sinch_emulator.exceptions import EmulatorError
from sinch_emulator.faults import FaultInjector, Reset

from .helpers import FaultLog, Traffic


@pytest.fixture
def fault_log(monkeypatch: pytest.MonkeyPatch) -> FaultLog:
    """Count, on the server side, every request the fault injector saw and every fault it injected.

    The emulator runs in this process (uvicorn on a thread), so wrapping the injector's two
    decision points sees exactly what every client attempt met, without changing any decision.
    """
    log = FaultLog()
    throttle, draw = FaultInjector.throttle, FaultInjector.draw

    def counted_throttle(self: FaultInjector, namespace: str) -> None:
        log.requests += 1
        try:
            throttle(self, namespace)
        except EmulatorError as error:
            log.statuses[error.status] = log.statuses.get(error.status, 0) + 1
            raise

    def counted_draw(self: FaultInjector) -> Reset | None:
        try:
            reset = draw(self)
        except EmulatorError as error:
            log.statuses[error.status] = log.statuses.get(error.status, 0) + 1
            raise
        if reset is not None:
            log.resets[reset.value] = log.resets.get(reset.value, 0) + 1
        return reset

    monkeypatch.setattr(FaultInjector, "throttle", counted_throttle)
    monkeypatch.setattr(FaultInjector, "draw", counted_draw)
    return log


def soak_seeds() -> list[int]:
    """SOAK_SEEDS: a count N (seeds 1..N) or a comma-separated list of seeds; default 2 seeds."""
    raw = os.environ.get("SOAK_SEEDS", "2").strip()
    if "," in raw:
        return [int(part) for part in raw.split(",") if part.strip()]
    return list(range(1, int(raw) + 1))


def pytest_generate_tests(metafunc: Any) -> None:
    """Tests that take a `soak_seed` run once per seed of SOAK_SEEDS."""
    if "soak_seed" in metafunc.fixturenames:
        metafunc.parametrize("soak_seed", soak_seeds(), ids=lambda seed: f"seed{seed}")


@pytest.fixture
def traffic(monkeypatch: pytest.MonkeyPatch) -> list[Traffic]:
    """Every `EmulatorServer` started in the test serves its app wrapped in `Traffic`; the list
    holds one per server, in start order (set `lose_creates` on it to lose create responses)."""
    from sinch_emulator import server as server_module

    wrapped: list[Traffic] = []
    create_app = server_module.create_app

    def watched(config: Any) -> Traffic:
        watcher = Traffic(create_app(config))
        wrapped.append(watcher)
        return watcher

    monkeypatch.setattr(server_module, "create_app", watched)
    return wrapped
