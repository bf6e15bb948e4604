"""The Groups API limits, in one place, so the rules and the tests name the same numbers.

Values come from the wire contract (`sinch-groups-api.md`); changing one here changes the
emulator's behaviour everywhere it is enforced.
"""

from __future__ import annotations

API_PREFIX = "/xms/v1"
"""Every Sinch route starts here; faults and bearer auth apply to this namespace only."""

MAX_NUMBERS_PER_ARRAY = 10_000
"""At most this many MSISDNs in one `members`, `add` or `remove` array."""

NAME_MIN_LENGTH = 1
NAME_MAX_LENGTH = 20
"""A group name is 1..20 characters (Unicode code points)."""

MAX_CHILD_GROUPS = 10
"""A group may reference at most this many child groups."""

DEFAULT_PAGE = 0
DEFAULT_PAGE_SIZE = 30
MIN_PAGE_SIZE = 0
MAX_PAGE_SIZE = 100
"""List paging: pages are 0-based, page_size is 0..100 and defaults to 30."""

KEYWORD_MAX_LENGTH = 15
"""An auto_update keyword is a single word of at most 15 characters."""

MSISDN_MIN_DIGITS = 7
MSISDN_MAX_DIGITS = 15
"""E.164 allows at most 15 digits; fewer than 7 is not a reachable international number."""

DEFAULT_TOKEN_TTL = 3600
"""Lifetime in seconds of an OAuth2 access token, as Sinch issues them."""

DEFAULT_PLAN_ID = "sinchgroupsdemo"
"""The demo service plan every emulator serves unless configured otherwise."""
DEFAULT_TOKEN = "demo-token"  # noqa: S105 - the documented demo credential, not a secret
