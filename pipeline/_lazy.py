"""Package faces that import their submodules on first use.

`import pipeline.sync.options` runs `pipeline/__init__.py` and `pipeline/sync/__init__.py` first;
if those imported their whole packages, `sinch-groups --help` would pay for polars, pandera and
httpx. So a package's `__init__` names what it exports and where it lives, and `lazy_exports`
gives it a module `__getattr__` (PEP 562) that imports the submodule when a name is first used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """`__getattr__` for `package`: `exports` maps each public name to the module defining it."""

    def __getattr__(name: str) -> Any:
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    return __getattr__
