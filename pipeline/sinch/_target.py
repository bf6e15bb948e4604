"""Where the pipeline sends its requests, and with which credentials.

A `Target` is read from environment variables (prefix `SINCH_` by default; a migration reads a
second one under another prefix, e.g. `OLD_SINCH_`) or built from CLI arguments. It is checked
as it is built, so a half-configured environment fails before any work starts, with a message
naming the variable to set. `GroupsClient.from_target` turns it into a client.
"""

from __future__ import annotations

from typing import Any

from pydantic import PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._config import (
    DEFAULT_ENV_PREFIX,
    DEFAULT_REGION,
    REGIONS,
    AuthMode,
    credential_mode,
    credentials_hint,
)
from ._exceptions import ConfigurationError

__all__ = ["Target"]


class Target(BaseSettings):
    """A Sinch account (service plan or project) and where to reach it.

    Environment variables, with the default prefix: SINCH_SERVICE_PLAN_ID, SINCH_API_TOKEN,
    SINCH_REGION, SINCH_BASE_URL, SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET. Keyword
    arguments override them; empty variables count as unset.

    Complete credentials are a service plan id with its API token, or a project id with a key id
    and key secret; the base URL and region are optional with either. Part of a set, both sets,
    or a base URL without credentials raise a ConfigurationError naming what to set (never a
    value); nothing at all is a target without credentials (`has_credentials` is False).
    """

    model_config = SettingsConfigDict(
        env_prefix=DEFAULT_ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    service_plan_id: str | None = None
    api_token: SecretStr | None = None
    region: str = DEFAULT_REGION
    base_url: str | None = None
    project_id: str | None = None
    key_id: str | None = None
    key_secret: SecretStr | None = None

    _prefix: str = PrivateAttr(default=DEFAULT_ENV_PREFIX)
    _mode: AuthMode | None = PrivateAttr(default=None)

    def __init__(self, _env_prefix: str | None = None, **values: Any) -> None:
        """Read the environment under `_env_prefix`, then check the result is usable."""
        super().__init__(_env_prefix=_env_prefix, **values)
        self._prefix = _env_prefix or DEFAULT_ENV_PREFIX
        if self.region not in REGIONS:
            raise ConfigurationError(
                f"{self._prefix}REGION={self.region!r} is not a Sinch region: set it to one of "
                f"{', '.join(REGIONS)}"
            )
        # Raises for incomplete or mixed credentials, naming the variables under this prefix.
        self._mode = credential_mode(
            {
                "service_plan_id": self.service_plan_id is not None,
                "api_token": self.api_token is not None,
                "project_id": self.project_id is not None,
                "key_id": self.key_id is not None,
                "key_secret": self.key_secret is not None,
            },
            env_prefix=self._prefix,
        )
        if self._mode is None and self.base_url is not None:
            # A base URL says where to send credentials; without them the CLI would quietly fall
            # back to its embedded emulator, and a script would fail later with a vaguer error.
            raise ConfigurationError(
                f"{self._prefix}BASE_URL is set but no credentials are: {credentials_hint(self._prefix)}"
            )

    @field_validator("region")
    @classmethod
    def _normalize_region(cls, value: str) -> str:
        return value.strip().lower()

    @classmethod
    def from_env(cls, prefix: str = DEFAULT_ENV_PREFIX) -> Target:
        """The target described by the environment variables starting with `prefix`."""
        return cls(_env_prefix=prefix)

    @property
    def env_prefix(self) -> str:
        """The prefix this target was read with, for messages that name its variables."""
        return self._prefix

    @property
    def has_credentials(self) -> bool:
        """Whether a complete set of credentials (service plan or project keys) is present."""
        return self._mode is not None

    def describe(self) -> dict[str, str]:
        """Where this target points, safe to log or write into files: never a secret."""
        where = {"base_url": self.base_url} if self.base_url else {"region": self.region}
        if self._mode == "service_plan":
            assert self.service_plan_id is not None  # checked at construction
            return {**where, "auth": "service plan token", "service_plan_id": self.service_plan_id}
        if self._mode == "oauth2":
            assert self.project_id is not None  # checked at construction
            return {**where, "auth": "oauth2 project key", "project_id": self.project_id}
        return {**where, "auth": "none"}
