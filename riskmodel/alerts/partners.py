"""National partners (`configs/partners.toml`): who receives which alerts, how, and the secret.

A partner covers whole countries, optionally narrowed to listed admin-1 areas, for one or
both targets. `covers` is the single gate every feed, file and outbox message passes
through, so a partner never receives another partner's areas: an alert goes to a partner
only if its country is the partner's and, when the partner lists admin-1 areas, every
admin-1 area the alert touches is listed. Secrets for signing webhook deliveries are read
at delivery time from an environment variable or a file named in the config, never from
the config itself (the repository must not hold them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from riskmodel.config import Strict, load_toml_model
from riskmodel.errors import ConfigError

FORMATS = ("cap", "geojson", "csv")


class Channel(Strict):
    """One way to reach a partner: a directory drop or an HTTP(S) webhook."""

    kind: Literal["directory", "webhook"]
    id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
                           description="stable name; default <kind>-<position>")
    path: str | None = Field(None, description="directory for kind=directory")
    url: str | None = Field(None, pattern=r"^https?://[^\s]+$", description="for kind=webhook")

    @model_validator(mode="after")
    def _target(self) -> Channel:
        if self.kind == "directory" and not self.path:
            raise ValueError("a directory channel needs `path`")
        if self.kind == "webhook" and not self.url:
            raise ValueError("a webhook channel needs `url`")
        return self


# A partner id names folders, outbox rows and feedback rows: lower-case, no spaces.
PARTNER_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class Partner(Strict):
    """One national partner."""

    id: str = Field(pattern=PARTNER_ID)
    name: str
    countries: tuple[str, ...] = Field(min_length=1)
    admin1: tuple[str, ...] = ()
    targets: tuple[Literal["fl", "cl"], ...] = ("fl", "cl")
    formats: tuple[Literal["cap", "geojson", "csv"], ...] = FORMATS
    budget: int | None = Field(None, ge=0, description="alerts open at once; rules' default")
    secret_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    secret_file: str | None = None
    channels: tuple[Channel, ...] = ()

    @model_validator(mode="after")
    def _admin1_in_countries(self) -> Partner:
        for a in self.admin1:
            if a.split("-")[0] not in self.countries:
                raise ValueError(f"admin1 {a!r} is not in the partner's countries")
        if any(c.kind == "webhook" for c in self.channels) and not (
                self.secret_env or self.secret_file):
            raise ValueError("a webhook channel needs secret_env or secret_file")
        names = [n for n, _ in self.named_channels()]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate channel ids: {', '.join(names)}")
        return self

    def named_channels(self) -> list[tuple[str, Channel]]:
        """(name, channel): the name, not the address, identifies a channel in the outbox,
        so a partner moving its endpoint keeps its pending messages."""
        return [(ch.id or f"{ch.kind}-{i}", ch) for i, ch in enumerate(self.channels, 1)]

    def covers(self, alert: dict[str, Any]) -> bool:
        """True if `alert` (a store row or record) belongs to this partner."""
        if alert["target"] not in self.targets or alert["country"] not in self.countries:
            return False
        if self.admin1:
            return bool(alert["admin1"]) and set(alert["admin1"]) <= set(self.admin1)
        return True

    def secret(self) -> bytes:
        """The signing secret from the environment or the secret file; ConfigError if absent."""
        if self.secret_env and os.environ.get(self.secret_env):
            return os.environ[self.secret_env].encode()
        if self.secret_file:
            p = Path(self.secret_file)
            try:
                s = p.read_bytes().strip()
            except OSError as exc:
                raise ConfigError(f"partner {self.id}: cannot read secret file {p}: "
                                  f"{exc.strerror}") from None
            if s:
                return s
        raise ConfigError(f"partner {self.id}: no secret (set ${self.secret_env or '?'} "
                          f"or secret_file)")


class Delivery(Strict):
    """Outbox delivery policy."""

    max_attempts: int = Field(8, ge=1, le=100, description="then the message is dead-lettered")
    base_delay_s: float = Field(30.0, ge=0, description="first retry delay; doubles each try")
    max_delay_s: float = Field(3600.0, ge=0)
    timeout_s: float = Field(10.0, gt=0, le=300)
    tolerance_s: int = Field(300, ge=1, description="max age of a signature (verifier)")


class PartnersConfig(Strict):
    """The whole `configs/partners.toml`."""

    delivery: Delivery = Delivery()
    partner: tuple[Partner, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> PartnersConfig:
        ids = [p.id for p in self.partner]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate partner id(s): {', '.join(dup)}")
        return self

    def get(self, pid: str) -> Partner:
        """The partner with id `pid`; ConfigError if unknown."""
        for p in self.partner:
            if p.id == pid:
                return p
        raise ConfigError(f"unknown partner {pid!r} (known: "
                          f"{', '.join(p.id for p in self.partner) or 'none'})")


def load_partners(path: Path | str | None) -> PartnersConfig:
    """Partners from `path` (no file: no partners)."""
    if path is None:
        return PartnersConfig()
    return load_toml_model(path, PartnersConfig)
