"""The Groups API's state and rules, with no HTTP in it.

One method per API operation. Each validates the whole request first (formats, limits,
then the groups it references) and only then writes, inside one store transaction, so a
rejected request leaves no trace. Errors are the Sinch error classes of `exceptions`.

Order of checks, when a request breaks several rules: the values in the body (field by field:
numbers, name, child groups, auto_update) -> the group in the path (404) -> referenced groups
(403). Inferred: the contract does not say.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ulid import ULID

from .constants import (
    DEFAULT_PAGE,
    DEFAULT_PAGE_SIZE,
    KEYWORD_MAX_LENGTH,
    MAX_CHILD_GROUPS,
    MAX_NUMBERS_PER_ARRAY,
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    NAME_MAX_LENGTH,
    NAME_MIN_LENGTH,
)
from .entities import (
    AutoUpdate,
    Clock,
    Group,
    GroupChanges,
    GroupPage,
    GroupSpec,
    InboundResult,
    Unset,
)
from .exceptions import (
    ConstraintViolationError,
    InvalidParameterError,
    NotFoundError,
    UnknownGroupError,
)
from .keywords import Action, keyword_action, split_words
from .msisdn import address_key, normalize_msisdn, normalize_msisdns
from .store import Store, StoredGroup, from_millis, to_millis

_WHITESPACE = re.compile(r"\s")


class GroupsModel:
    """Groups of every namespace (a service plan id or a project id) in one store.

    `refused_numbers` (digits only) is a fault the operator injects: numbers this emulator
    rejects as invalid on create, update `add` and replace, as Sinch does for numbers it
    will not accept.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = time.time,
        refused_numbers: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.refused_numbers = refused_numbers
        self._clock = clock

    def list_groups(
        self, namespace: str, *, page: int = DEFAULT_PAGE, page_size: int = DEFAULT_PAGE_SIZE
    ) -> GroupPage:
        """One page of groups, newest first; a page past the end is empty, not an error."""
        _check_paging(page, page_size)
        with self.store.transaction():
            total = self.store.count(namespace)
            offset = page * page_size
            groups = self.store.page(namespace, offset, page_size) if offset < total else []
        return GroupPage(page=page, count=total, groups=groups)

    def create_group(self, namespace: str, spec: GroupSpec) -> Group:
        """Create a group with its initial members; every field is optional."""
        members = _check_numbers("members", spec.members, self.refused_numbers)
        name = _check_name(spec.name)
        children = _check_child_groups(spec.child_groups)
        auto_update = _check_auto_update(spec.auto_update)
        with self.store.transaction():
            self._require_groups(namespace, children)
            now = self._now()
            group = Group(
                id=str(ULID.from_timestamp(to_millis(now))),
                name=name,
                size=0,
                created_at=now,
                modified_at=now,
                child_groups=children,
                auto_update=auto_update,
            )
            pk = self.store.insert(namespace, group)
            group = replace(group, size=self.store.add_members(pk, members))
            self.store.save(pk, group)
        return group

    def get_group(self, namespace: str, group_id: str) -> Group:
        """The group, or 404."""
        with self.store.transaction():
            return self._get(namespace, group_id).group

    def update_group(self, namespace: str, group_id: str, changes: GroupChanges) -> Group:
        """Apply add, add_from_group, remove, remove_from_group in that order, then the fields.

        A number both added and removed ends up absent; duplicate adds and unknown removes
        are ignored. `name` UNSET keeps the name, None removes it.
        """
        add = _check_numbers("add", changes.add, self.refused_numbers)
        remove = _check_numbers("remove", changes.remove)
        name = changes.name if isinstance(changes.name, Unset) else _check_name(changes.name)
        auto_update = _check_auto_update(changes.auto_update)
        with self.store.transaction():
            target = self._get(namespace, group_id)
            add_source = self._referenced(namespace, changes.add_from_group)
            remove_source = self._referenced(namespace, changes.remove_from_group)
            size = target.group.size + self.store.add_members(target.pk, add)
            if add_source is not None:
                size += self.store.copy_members(add_source.pk, target.pk)
            size -= self.store.remove_members(target.pk, remove)
            if remove_source is not None:
                size -= self.store.subtract_members(remove_source.pk, target.pk)
            group = replace(
                target.group,
                size=size,
                modified_at=self._now(),
                name=target.group.name if isinstance(name, Unset) else name,
                auto_update=auto_update or target.group.auto_update,
            )
            self.store.save(target.pk, group)
        return group

    def replace_group(self, namespace: str, group_id: str, spec: GroupSpec) -> Group:
        """Replace members, name, child groups and auto_update; absent fields become empty."""
        members = _check_numbers("members", spec.members, self.refused_numbers)
        name = _check_name(spec.name)
        children = _check_child_groups(spec.child_groups)
        auto_update = _check_auto_update(spec.auto_update)
        with self.store.transaction():
            target = self._get(namespace, group_id)
            self._require_groups(namespace, children)
            self.store.clear_members(target.pk)
            group = replace(
                target.group,
                name=name,
                size=self.store.add_members(target.pk, members),
                modified_at=self._now(),
                child_groups=children,
                auto_update=auto_update,
            )
            self.store.save(target.pk, group)
        return group

    def delete_group(self, namespace: str, group_id: str) -> None:
        """Delete the group and drop it from the child_groups of every group listing it.

        Inferred: the contract does not say what happens to those references; keeping a
        dangling id would make every later replace of the parent fail with 403.
        """
        with self.store.transaction():
            self.store.delete(self._get(namespace, group_id).pk)
            now = self._now()
            for parent in self.store.referencing(namespace, group_id):
                children = tuple(child for child in parent.group.child_groups if child != group_id)
                self.store.save(
                    parent.pk, replace(parent.group, child_groups=children, modified_at=now)
                )

    def list_members(self, namespace: str, group_id: str) -> list[str]:
        """Every member, digits only (no `+`), ascending."""
        return list(json.loads(self.list_members_json(namespace, group_id)))

    def list_members_json(self, namespace: str, group_id: str) -> str:
        """`list_members` as the JSON body the API sends."""
        with self.store.transaction():
            return self.store.members_json(self._get(namespace, group_id).pk)

    def receive_inbound(
        self, sender: str, to: str, body: str, *, namespace: str | None = None
    ) -> InboundResult:
        """Apply an inbound SMS from `sender` to `to` to every group whose `auto_update` it hits.

        A group is hit when its `auto_update.to` is the number texted (`to`); then its add
        keyword makes the sender join and its remove keyword makes the sender leave. Rules:
        - `to` and `sender` follow the API's MSISDN input rules (leading `+`/`00`, spaces,
          dashes, brackets and dots ignored), so a number compares however it was typed; a `to`
          that is no plausible MSISDN (a short code) compares with those characters stripped.
          An implausible `sender` is a 400 `Invalid MSISDN`, like a bad number in `add`; a `to`
          with nothing left after stripping is a 400 (it could only ever match nothing).
        - The keyword match is `keywords.keyword_action`: whitespace-split body, first (and, if
          configured, second) word equal ignoring case (casefold), further words ignored,
          punctuation part of a word, and remove wins when the body matches both keywords.
        - `namespace` (a service plan or project id) limits this to that namespace's groups;
          None means every namespace, as one number can serve several plans.
        - Membership changes as an update's `add`/`remove` would change it (same store calls,
          `size` and `modified_at` updated); a join by a member or a leave by a non-member
          changes nothing, not even `modified_at`. `refuse_numbers` does not apply: it is a fault
          of the API requests, and the control routes skip faults.
        All of it happens in one transaction: every group changes, or (on error) none.
        """
        number = normalize_msisdn(sender)
        texted = address_key(to)
        if not texted:
            raise ConstraintViolationError(f"to must hold a number or short code, got '{to}'")
        words = split_words(body)
        joined: list[str] = []
        left: list[str] = []
        with self.store.transaction():
            for stored in self.store.auto_updating(namespace):
                auto_update = stored.group.auto_update
                if auto_update is None or address_key(auto_update.to) != texted:
                    continue
                action = keyword_action(auto_update, words)
                if action is Action.JOIN and self.store.add_members(stored.pk, [number]):
                    self._resize(stored, +1)
                    joined.append(stored.group.id)
                elif action is Action.LEAVE and self.store.remove_members(stored.pk, [number]):
                    self._resize(stored, -1)
                    left.append(stored.group.id)
        return InboundResult(joined=joined, left=left)

    def _resize(self, stored: StoredGroup, delta: int) -> None:
        """Record a membership change of `delta` members, as an update does (size, modified_at)."""
        group = replace(stored.group, size=stored.group.size + delta, modified_at=self._now())
        self.store.save(stored.pk, group)

    def reset(self) -> None:
        """Forget every group of every namespace."""
        self.store.wipe()

    def _now(self) -> datetime:
        return from_millis(int(self._clock() * 1000))

    def _get(self, namespace: str, group_id: str) -> StoredGroup:
        stored = self.store.find(namespace, group_id)
        if stored is None:
            raise NotFoundError(f"Group '{group_id}' not found")
        return stored

    def _referenced(self, namespace: str, group_id: str | None) -> StoredGroup | None:
        if group_id is None:
            return None
        stored = self.store.find(namespace, group_id)
        if stored is None:
            raise UnknownGroupError(group_id)
        return stored

    def _require_groups(self, namespace: str, group_ids: Sequence[str]) -> None:
        existing = self.store.existing_ids(namespace, group_ids)
        for group_id in group_ids:
            if group_id not in existing:
                raise UnknownGroupError(group_id)


def _check_paging(page: int, page_size: int) -> None:
    if page < 0:
        raise ConstraintViolationError(f"page must be 0 or more, got {page}")
    if not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
        raise ConstraintViolationError(
            f"page_size must be {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}, got {page_size}"
        )


def _check_numbers(
    field: str, values: Sequence[str], refused: frozenset[str] = frozenset()
) -> list[str]:
    if len(values) > MAX_NUMBERS_PER_ARRAY:
        raise ConstraintViolationError(
            f"{field} holds {len(values)} numbers, at most {MAX_NUMBERS_PER_ARRAY} are allowed"
        )
    return normalize_msisdns(values, refused)


def _check_name(name: str | None) -> str | None:
    if name is not None and not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
        raise ConstraintViolationError(
            f"name must be {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters, got {len(name)}"
        )
    return name


def _check_child_groups(group_ids: Sequence[str]) -> tuple[str, ...]:
    if len(group_ids) > MAX_CHILD_GROUPS:
        raise ConstraintViolationError(
            f"child_groups holds {len(group_ids)} groups, at most {MAX_CHILD_GROUPS} are allowed"
        )
    if len(set(group_ids)) != len(group_ids):
        raise ConstraintViolationError("child_groups must not repeat a group")
    return tuple(group_ids)


def _check_auto_update(auto_update: AutoUpdate | None) -> AutoUpdate | None:
    if auto_update is None:
        return None
    if not auto_update.to:
        raise ConstraintViolationError("auto_update.to must not be empty")
    for field, keyword in (("add", auto_update.add), ("remove", auto_update.remove)):
        if keyword is not None:
            _check_keyword(f"auto_update.{field}.first_word", keyword.first_word)
            _check_keyword(f"auto_update.{field}.second_word", keyword.second_word)
    return auto_update


def _check_keyword(field: str, word: str | None) -> None:
    if word is None:
        return
    if not 1 <= len(word) <= KEYWORD_MAX_LENGTH:
        raise ConstraintViolationError(
            f"{field} must be 1 to {KEYWORD_MAX_LENGTH} characters, got {len(word)}"
        )
    if _WHITESPACE.search(word):
        raise InvalidParameterError(f"{field} must be a single word, got '{word}'")
