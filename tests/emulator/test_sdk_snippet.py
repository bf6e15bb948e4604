"""The official Sinch SDK ignores SINCH_BASE_URL: the snippets that point it at the emulator (printed
in the start-up banner and shown in the README) must work as printed, against a live emulator."""

from __future__ import annotations

import re
from pathlib import Path

from sinch import SinchClient

from sinch_emulator import EmulatorConfig, EmulatorServer
from sinch_emulator.server import banner, sdk_snippets

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- SDK snippet:"
README_URL = "http://127.0.0.1:8765"


def run(code: str) -> dict[str, object]:
    """Execute a snippet as a user pasting it would, and return the names it defined."""
    names: dict[str, object] = {}
    exec(compile(code, "<snippet>", "exec"), names)
    return names


def test_each_banner_snippet_lists_and_creates_groups_on_the_emulator(
    live_emulator: EmulatorServer,
) -> None:
    plan_code, project_code = sdk_snippets(live_emulator.config, live_emulator.base_url)

    plan_client = run(plan_code)["client"]
    project_client = run(project_code)["client"]

    assert isinstance(plan_client, SinchClient)
    assert isinstance(project_client, SinchClient)
    created = plan_client.sms.groups.create(name="via the SDK", members=["+447911123456"])
    assert [g.id for g in plan_client.sms.groups.list().iterator()] == [created.id]
    by_key = project_client.sms.groups.create(name="via a project key")
    assert [g.name for g in project_client.sms.groups.list().iterator()] == ["via a project key"]
    assert by_key.id != created.id  # a project's groups are its own


def test_the_banner_prints_the_snippets_whole_and_flush_left() -> None:
    url = "http://127.0.0.1:8765"
    text = banner(EmulatorConfig(), url)

    for snippet in sdk_snippets(EmulatorConfig(), url):
        assert f"\n{snippet}\n" in text
    assert f'client.configuration.sms_origin_with_service_plan_id = "{url}"\n' in text
    assert text.splitlines()[-1].startswith("  storage:")  # what tests reading a pipe wait for


def test_the_readme_sdk_block_runs_against_the_emulator(live_emulator: EmulatorServer) -> None:
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    block = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert block is not None
    code = block.group(1).replace(README_URL, live_emulator.base_url)

    client = run(code)["client"]  # the project-key client, defined last

    assert isinstance(client, SinchClient)
    plan_client = run(sdk_snippets(live_emulator.config, live_emulator.base_url)[0])["client"]
    assert isinstance(plan_client, SinchClient)
    assert [g.name for g in plan_client.sms.groups.list().iterator()] == ["Newsletter"]
    assert list(client.sms.groups.list().iterator()) == []
