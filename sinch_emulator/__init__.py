"""A local Sinch SMS Groups API: the real HTTP contract, no account needed.

Any Sinch client (this project's, the official SDKs, curl) can point at it. It follows
`sinch-groups-api.md` to the letter and decides, documenting it where it is enforced, what that
contract leaves open. The demo credentials, served by `EmulatorConfig()` unless configured
otherwise:

- service plan `DEFAULT_PLAN_ID` = "sinchgroupsdemo" with bearer token `DEFAULT_TOKEN` = "demo-token"
  (`Authorization: Bearer demo-token` on `/xms/v1/sinchgroupsdemo/groups...`);
- project key `DEFAULT_PROJECT`: project_id "demo-project", key_id "demo-key",
  key_secret "demo-secret", for `POST /oauth2/token` and then `/xms/v1/demo-project/groups...`.

```python
with EmulatorServer(EmulatorConfig(db_path=None)) as server:   # port 0: a free port
    httpx.get(f"{server.base_url}/xms/v1/{DEFAULT_PLAN_ID}/groups",
              headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
app = create_app(EmulatorConfig())     # the ASGI app, for httpx.ASGITransport
```
Test helpers outside the Sinch namespace: `POST /_emulator/reset` wipes every group;
`PUT /_emulator/faults` (a JSON object of `Faults` fields) switches faults at run time;
`POST /_emulator/inbound` (`{"from", "to", "body"}`) simulates a subscriber texting a group's
`auto_update` keyword, so joining and leaving by SMS can be rehearsed (`send_inbound` in Python).

Layout (after moto): `models` holds the rules and state with no HTTP in it, `store` the SQLite
storage, `entities` the value types they share, `responses` the HTTP handlers, `app` the routes
and `create_app`, `exceptions` Sinch's error codes, `constants` the limits, `msisdn` the number
rules, `keywords` the auto_update keyword match, `auth` tokens, `faults` misbehaviour, `config`
the settings, `server` uvicorn, `control` a Python client for the control routes.
This package imports nothing from `pipeline` (the library it serves), as moto sits beside boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .config import (
        DEFAULT_PROJECT,
        ConfigError,
        EmulatorConfig,
        Faults,
        Plan,
        ProjectKey,
        load_config_file,
        load_refuse_numbers,
    )
    from .constants import DEFAULT_PLAN_ID, DEFAULT_TOKEN
    from .control import send_inbound
    from .server import EmulatorServer, serve

# Each name is imported from its module on first use (PEP 562), so that reading a constant (the
# CLI's help text) does not start up starlette and uvicorn.
_EXPORTS = {
    "DEFAULT_PLAN_ID": ".constants",
    "DEFAULT_PROJECT": ".config",
    "DEFAULT_TOKEN": ".constants",
    "ConfigError": ".config",
    "EmulatorConfig": ".config",
    "EmulatorServer": ".server",
    "Faults": ".config",
    "Plan": ".config",
    "ProjectKey": ".config",
    "create_app": ".app",
    "load_config_file": ".config",
    "load_refuse_numbers": ".config",
    "send_inbound": ".control",
    "serve": ".server",
}

__all__ = [
    "DEFAULT_PLAN_ID",
    "DEFAULT_PROJECT",
    "DEFAULT_TOKEN",
    "ConfigError",
    "EmulatorConfig",
    "EmulatorServer",
    "Faults",
    "Plan",
    "ProjectKey",
    "create_app",
    "load_config_file",
    "load_refuse_numbers",
    "send_inbound",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
