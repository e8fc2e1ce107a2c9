"""The pipeline's settings as a Dagster resource.

Every knob an asset reads (seeds, walk, synthesis, release, decontamination, the data
directory) reaches it through this resource, never through the environment. The sections
are resource config, so the launchpad shows them and a run can override any of them; the
resource turns them back into the one validated settings model (:mod:`linksyn_dagster.settings`).
Secrets are not here: the Neo4j and LLM resources take theirs as a :class:`Secret`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import dagster as dg
from pydantic import Field, PrivateAttr

from linksyn_dagster.settings import LinkSynSettings

# the sections this resource carries (the service sections travel with their own resources)
SECTIONS = ("seeds", "walk", "synthesis", "release", "decontam")


@dataclass(frozen=True)
class Secret:
    """A password or API key handed to a resource as a dependency rather than as config.

    Dagster writes every config value (including those fixed in code) into each run's
    snapshot in its run storage; a dependency object stays in the process's memory. A
    settings object read from the environment, a ``.env`` file or built in code therefore
    reaches the resources without the secret being stored anywhere."""

    value: str | None = None

    def __repr__(self) -> str:
        return "Secret(None)" if self.value is None else "Secret('**********')"


def section(settings: LinkSynSettings, name: str, exclude: set[str] | None = None) -> dict[str, Any]:
    """One section of ``settings`` as plain config values (JSON types), ``exclude`` left out.
    Unset values are left out too (Dagster's config maps hold no nulls): every optional
    setting defaults to unset, so validating the section again gives the same settings."""
    values = getattr(settings, name).model_dump(mode="json", exclude=exclude)
    return {key: value for key, value in values.items() if value is not None}


def settings_from_config(data_dir: str, **sections: dict[str, Any]) -> LinkSynSettings:
    """The validated settings model from resource config; never reads the environment."""
    return LinkSynSettings.model_validate({"data_dir": data_dir, **sections})


class SettingsResource(dg.ConfigurableResource):
    """LinkSyn's pipeline settings (the LINKSYN_* variables of the seed, walk, synthesis,
    release and decontamination sections), validated as one model."""

    data_dir: str = Field(description="where DuckDB, caches, local servers' state and releases live")
    seeds: dict[str, Any] = Field(default_factory=dict, description="seed loading (LINKSYN_SEEDS__*)")
    walk: dict[str, Any] = Field(default_factory=dict, description="the value-function walk (LINKSYN_WALK__*)")
    synthesis: dict[str, Any] = Field(default_factory=dict, description="QA synthesis (LINKSYN_SYNTHESIS__*)")
    release: dict[str, Any] = Field(default_factory=dict, description="the release (LINKSYN_RELEASE__*)")
    decontam: dict[str, Any] = Field(default_factory=dict, description="decontamination (LINKSYN_DECONTAM__*)")

    _value: LinkSynSettings | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: LinkSynSettings) -> SettingsResource:
        return cls(data_dir=str(settings.data_dir), **{name: section(settings, name) for name in SECTIONS})

    @property
    def value(self) -> LinkSynSettings:
        """The settings model these fields describe (validated once)."""
        if self._value is None:
            self._value = settings_from_config(self.data_dir, **{name: getattr(self, name) for name in SECTIONS})
        return self._value


class ServiceResource(dg.ConfigurableResource):
    """Base of the resources that one settings section configures (``SECTION``, as config)
    together with the data directory, the section's secrets (``SECRETS``) kept apart as
    :class:`Secret` dependencies. Subclasses declare the fields named after them."""

    SECTION: ClassVar[str]
    SECRETS: ClassVar[tuple[str, ...]]

    data_dir: str = Field(description="the data directory (local servers' state, caches, the result store)")

    _settings: Optional[LinkSynSettings] = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: LinkSynSettings) -> "ServiceResource":
        values = getattr(settings, cls.SECTION)
        secrets = {name: getattr(values, name) for name in cls.SECRETS}
        return cls(data_dir=str(settings.data_dir), **{
            cls.SECTION: section(settings, cls.SECTION, exclude=set(cls.SECRETS)),
            **{name: Secret(secret.get_secret_value() if secret else None) for name, secret in secrets.items()}})

    @property
    def _config(self) -> LinkSynSettings:
        """The settings these fields describe (only this section and the data dir are set)."""
        if self._settings is None:
            values = {**getattr(self, self.SECTION), **{name: getattr(self, name).value for name in self.SECRETS}}
            self._settings = settings_from_config(self.data_dir, **{self.SECTION: values})
        return self._settings
