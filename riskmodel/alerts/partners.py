"""National partners (`configs/partners.toml`): who receives which alerts, how, and the secret.

A partner covers whole countries, optionally narrowed to listed admin-1 areas (grid
alerts) or GDL sub-national regions (region alerts, `regions`; checked against the region
risk dataset when alerts are published), for one or both targets. `covers` is the single
gate every feed, file and outbox message passes through, so a partner never receives
another partner's areas: an alert goes to a partner only if its country is the partner's
and, when the partner lists areas, every area the alert touches is listed. Secrets for
signing webhook deliveries are read at delivery time from an environment variable or a
file named in the config, never from the config itself (the repository must not hold
them); several space-separated secrets are all used to sign (key rotation).

Everything here is hostile input: values are not coerced (a TOML string is not a number),
codes must look like ISO 3166 codes, webhook URLs must be HTTPS (plain HTTP only to a
loopback address written in the URL) without user info or link-local/metadata hosts, and
drop folders must be free of `..` and not shared between partners.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from riskmodel.alerts.verify import SignatureError, secret_keys
from riskmodel.config import Strict, load_toml_model
from riskmodel.errors import ConfigError
from riskmodel.sources.codes import is_country_code

FORMATS = ("cap", "geojson", "csv")
SStr = Annotated[str, Field(strict=True)]
COUNTRY = r"^[A-Z]{3}$"
ADMIN1 = r"^[A-Z]{3}-[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"
GDL_REGION = r"^[A-Z]{3}(r[0-9]{3}|t)$"  # Global Data Lab code: AFGr101, or AFGt (whole)


def host_address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                         named_loopback: bool) -> str | None:
    """Why a webhook may not connect to `ip` (None: it may).

    Link-local (cloud metadata at 169.254.169.254 among them), multicast, unspecified and
    reserved addresses are never reachable; loopback only when the URL names a loopback
    address itself (a public name resolving to 127.0.0.1 is refused).
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if named_loopback else f"{ip} is a loopback address"
    for what, bad in (("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                      ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved)):
        if bad:
            return f"{ip} is a {what} address"
    return None


def check_webhook_url(url: str) -> tuple[str, str, int, bool]:
    """(scheme, host, port, host names a loopback address) of a webhook URL; ValueError if
    the URL is not HTTPS (or HTTP to a loopback address), has user info, a fragment, a bad
    port, control characters or a forbidden address."""
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError("webhook url is empty or has spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise ValueError(f"webhook url scheme {parts.scheme!r}; expected https")
    if "@" in parts.netloc:
        raise ValueError("webhook url has user info (user@host): refused")
    if parts.fragment:
        raise ValueError("webhook url has a #fragment")
    host = parts.hostname or ""
    if not host:
        raise ValueError("webhook url has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"webhook url port in {parts.netloc!r} is not a number 1-65535"
                         ) from None
    if port == 0:
        raise ValueError("webhook url port 0")
    try:
        ip: Any = ipaddress.ip_address(host)
    except ValueError:
        ip = None
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,62}\.)*[a-z0-9-]{1,63}\.?", host):
            raise ValueError(f"webhook url host {host!r} is not a DNS name or IP address"
                             ) from None
    loopback = host == "localhost" or (ip is not None and ip.is_loopback)
    if ip is not None:
        why = host_address_problem(ip, named_loopback=True)
        if why:
            raise ValueError(f"webhook url host {why}")
    if parts.scheme == "http" and not loopback:
        raise ValueError(f"webhook url must be https:// (http only to a loopback address, "
                         f"got host {host!r})")
    return parts.scheme, host, port, loopback


def check_drop_path(path: str) -> str:
    """A drop or secret path (absolute, or relative to the working directory like every
    path of a run config), normalised, without `..` or control characters."""
    if not path or any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise ValueError("directory path is empty or has control characters")
    p = PurePosixPath(path)
    if ".." in p.parts or path.startswith("~"):
        raise ValueError(f"directory path {path!r} contains '..'")
    return str(p)


class Channel(Strict):
    """One way to reach a partner: a directory drop or an HTTPS webhook."""

    kind: Literal["directory", "webhook"]
    id: SStr | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
                            description="stable name; default <kind>-<position>")
    path: SStr | None = Field(None, description="directory for kind=directory")
    url: SStr | None = Field(None, description="https URL for kind=webhook")

    @model_validator(mode="after")
    def _target(self) -> Channel:
        if self.kind == "directory":
            if not self.path or self.url:
                raise ValueError("a directory channel needs `path` (and no `url`)")
            check_drop_path(self.path)
        if self.kind == "webhook":
            if not self.url or self.path:
                raise ValueError("a webhook channel needs `url` (and no `path`)")
            check_webhook_url(self.url)
        return self


# A partner id names folders, outbox rows and feedback rows: lower-case, no spaces.
PARTNER_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class Partner(Strict):
    """One national partner."""

    id: SStr = Field(pattern=PARTNER_ID)
    name: SStr
    countries: tuple[Annotated[str, Field(strict=True, pattern=COUNTRY)], ...] = Field(
        min_length=1)
    admin1: tuple[Annotated[str, Field(strict=True, pattern=ADMIN1)], ...] = ()
    regions: tuple[Annotated[str, Field(strict=True, pattern=GDL_REGION)], ...] = ()
    targets: tuple[Literal["fl", "cl"], ...] = ("fl", "cl")
    formats: tuple[Literal["cap", "geojson", "csv"], ...] = FORMATS
    budget: int | None = Field(None, ge=0, strict=True,
                               description="alerts open at once; rules' default")
    secret_env: SStr | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    secret_file: SStr | None = None
    channels: tuple[Channel, ...] = ()

    @model_validator(mode="after")
    def _admin1_in_countries(self) -> Partner:
        for c in self.countries:
            if not is_country_code(c):
                raise ValueError(f"country {c!r} is not an assigned or user-assigned ISO "
                                 f"3166-1 alpha-3 code")
        for a in self.admin1:
            if a.split("-")[0] not in self.countries:
                raise ValueError(f"admin1 {a!r} is not in the partner's countries")
        if len(set(self.regions)) != len(self.regions):
            raise ValueError("regions lists a code twice")
        if any(c.kind == "webhook" for c in self.channels) and not (
                self.secret_env or self.secret_file):
            raise ValueError("a webhook channel needs secret_env or secret_file")
        if self.secret_file is not None:
            check_drop_path(self.secret_file)
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
        scope = self.scope()
        if scope:
            return bool(alert["admin1"]) and set(alert["admin1"]) <= scope
        return True

    def scope(self) -> set[str]:
        """The admin-1 units and regions the partner is narrowed to (empty: whole countries);
        an alert's `admin1` holds the units it lies in, gdlcodes for region alerts."""
        return set(self.admin1) | set(self.regions)

    def touches(self, alert: dict[str, Any]) -> bool:
        """True if `alert` overlaps this partner's areas at all (budgets count these)."""
        if alert["target"] not in self.targets or alert["country"] not in self.countries:
            return False
        scope = self.scope()
        return not scope or bool(set(alert["admin1"]) & scope)

    def secrets(self) -> list[bytes]:
        """The signing keys (several, space-separated, while rotating) from the environment
        or the secret file; ConfigError if absent, empty or shorter than 24 bytes."""
        text = ""
        where = ""
        if self.secret_env and os.environ.get(self.secret_env, "").strip():
            text, where = os.environ[self.secret_env], f"${self.secret_env}"
        elif self.secret_file:
            p = Path(self.secret_file)
            try:
                text = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"partner {self.id}: cannot read secret file {p}: "
                                  f"{getattr(exc, 'strerror', None) or exc}") from None
            where = str(p)
        if not text.strip():
            raise ConfigError(f"partner {self.id}: no secret (set ${self.secret_env or '?'} "
                              f"or secret_file)")
        try:
            return secret_keys(text)
        except SignatureError as exc:
            raise ConfigError(f"partner {self.id}: secret in {where}: {exc}") from None


class Delivery(Strict):
    """Outbox delivery policy."""

    max_attempts: int = Field(8, ge=1, le=100, strict=True,
                              description="then the message is dead-lettered")
    base_delay_s: float = Field(30.0, ge=0, strict=True,
                                description="first retry delay; doubles each try")
    max_delay_s: float = Field(3600.0, ge=0, strict=True)
    timeout_s: float = Field(10.0, gt=0, le=300, strict=True,
                             description="whole request (connect, send, full reply)")
    tolerance_s: int = Field(300, ge=1, le=3600, strict=True,
                             description="max age of a signature (verifier)")


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
        # A drop folder belongs to one partner: a shared or nested folder would hand one
        # partner's files to another.
        drops = [(PurePosixPath(ch.path), p.id) for p in self.partner
                 for _, ch in p.named_channels() if ch.path]
        for i, (a, pa) in enumerate(drops):
            for b, pb in drops[i + 1:]:
                if pa != pb and (a == b or a in b.parents or b in a.parents):
                    raise ValueError(f"partners {pa} and {pb} share drop folder {a} / {b}")
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
