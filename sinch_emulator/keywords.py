"""How an inbound SMS (MO) body is matched against a group's `auto_update` keywords.

Sinch documents only that keywords are single words and case-insensitive; the rest is decided
here (inferred) and documented in `GroupsModel.receive_inbound` and the README:

- The body is trimmed and split on whitespace (any Unicode whitespace, runs count as one).
- The first word must equal the keyword's `first_word` case-insensitively (Unicode casefold, so
  `STRASSE` matches `straße`); when the keyword has a `second_word`, the second word must equal it
  too. Further words are ignored: people text "STOP please".
- Punctuation is part of a word: "JOIN!" is not "JOIN". The emulator never matches what a
  stricter real matcher might not, so a rehearsal that passes here does not lean on leniency.
- A body that matches both the add and the remove keyword of a group leaves it: opting out is
  never the surprising outcome (a subscriber who may have meant STOP is not kept subscribed).

Pure functions, no storage and no HTTP, so the rules can be tested on their own.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from .entities import AutoUpdate, Keyword


class Action(enum.Enum):
    """What an inbound message does to its sender's membership of one group."""

    JOIN = "join"
    LEAVE = "leave"


def split_words(body: str) -> list[str]:
    """The words of an SMS body: trimmed, split on any run of whitespace."""
    return body.split()


def keyword_matches(keyword: Keyword, words: Sequence[str]) -> bool:
    """Whether the words start with the keyword (its one or two words), ignoring case."""
    expected = [keyword.first_word]
    if keyword.second_word is not None:
        expected.append(keyword.second_word)
    if len(words) < len(expected):
        return False
    return all(
        word.casefold() == wanted.casefold() for word, wanted in zip(words, expected, strict=False)
    )


def keyword_action(auto_update: AutoUpdate, words: Sequence[str]) -> Action | None:
    """The action these words trigger on a group with these settings, or None.

    The remove keyword is tried first, so a body matching both (same words) leaves the group.
    """
    if auto_update.remove is not None and keyword_matches(auto_update.remove, words):
        return Action.LEAVE
    if auto_update.add is not None and keyword_matches(auto_update.add, words):
        return Action.JOIN
    return None
