"""The private phonenumbers names the vectorized reading relies on, imported in this one place.

`numbering` and `plans` must give exactly phonenumbers' answers, so they use the very limits and
length test phonenumbers applies rather than copies that could drift from them. These names are
private to phonenumbers and may move in any release; importing them here, once, makes that day's
failure an error that says what to do, rather than an `ImportError` deep in a run.
`tests/test_phonenumbers_private.py` fails on that day too, and says which names moved.
"""

from __future__ import annotations

import phonenumbers

__all__ = [
    "MAX_INPUT_STRING_LENGTH",
    "MAX_LENGTH_FOR_NSN",
    "MIN_LENGTH_FOR_NSN",
    "TESTED_VERSION",
    "number_length_result",
]

TESTED_VERSION = "9.0.43"
"""The phonenumbers release these names were last checked against (the one `uv.lock` pins)."""

try:
    from phonenumbers.phonenumberutil import _MAX_INPUT_STRING_LENGTH as MAX_INPUT_STRING_LENGTH
    from phonenumbers.phonenumberutil import _MAX_LENGTH_FOR_NSN as MAX_LENGTH_FOR_NSN
    from phonenumbers.phonenumberutil import _MIN_LENGTH_FOR_NSN as MIN_LENGTH_FOR_NSN
    from phonenumbers.phonenumberutil import _test_number_length as number_length_result
except ImportError as exc:
    raise ImportError(
        f"phonenumbers {phonenumbers.__version__} no longer provides the private names "
        "pipeline.phones reads numbers with (_MAX_INPUT_STRING_LENGTH, _MAX_LENGTH_FOR_NSN, "
        f"_MIN_LENGTH_FOR_NSN, _test_number_length in phonenumbers.phonenumberutil): {exc}. "
        f"Pin phonenumbers to a tested version (phonenumbers=={TESTED_VERSION}) until "
        "pipeline/phones/phonenumbers_private.py is updated for this one."
    ) from exc
