"""Python clients for the emulator's control routes (`/_emulator/*`), for scripts and tests.

They talk HTTP, like any other client, so they work on an emulator in another process (the
`sinch-groups emulator` command) as well as on an `EmulatorServer` in this one. The control routes
need no credentials and are never slowed or failed by the configured faults.
"""

from __future__ import annotations

import httpx


def send_inbound(
    base_url: str,
    *,
    sender: str,
    to: str,
    body: str,
    service_plan_id: str | None = None,
    timeout: float = 10.0,
) -> dict[str, list[str]]:
    """Simulate an SMS from `sender` to `to` through `POST /_emulator/inbound`.

    Every group whose `auto_update.to` is `to` (of `service_plan_id` only, when given) applies
    its keywords: the add keyword makes `sender` join, the remove keyword makes it leave.
    Returns `{"joined": [group ids], "left": [group ids]}`, the groups whose membership changed.
    Raises `httpx.HTTPStatusError` with the emulator's error body in its message on a 4xx/5xx
    (an invalid `sender` is a 400), so a failed rehearsal says why.
    """
    payload = {"from": sender, "to": to, "body": body}
    if service_plan_id is not None:
        payload["service_plan_id"] = service_plan_id
    url = f"{base_url.rstrip('/')}/_emulator/inbound"
    response = httpx.post(url, json=payload, timeout=timeout)
    if response.is_error:
        raise httpx.HTTPStatusError(
            f"{response.status_code} from POST {url}: {response.text}",
            request=response.request,
            response=response,
        )
    result: dict[str, list[str]] = response.json()
    return result
