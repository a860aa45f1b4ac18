"""Checks of the paths a config names (run folders, registry, alert store, rules, partners).

A config is operator input like any other: a path with a NUL byte, an empty path, or a
`..` that climbs out of where it is written is refused with the key that holds it, before
anything is created. A path meant to live elsewhere is written absolute. The files a config
reads (`[alerts] rules` and `partners`, `[scale] models_from`, each `[sources]` input) must
exist when the config is loaded, so a typo is one line naming the key and the file before
any work, not an error after minutes of scoring.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from riskmodel.config import RunConfig
from riskmodel.errors import ConfigError
from riskmodel.sources.paths import PREFIX, resolve_path


def configured_paths(cfg: RunConfig) -> dict[str, str | None]:
    """Key path -> value of every path-valued setting of a run config."""
    return {"out": cfg.out, "model.registry": cfg.model.registry,
            "alerts.store": cfg.alerts.store, "alerts.rules": cfg.alerts.rules,
            "alerts.partners": cfg.alerts.partners}


def check_path(key: str, value: str, *, source: str = "config") -> None:
    """Raise `ConfigError` if `value` is empty, has a NUL or control byte, or contains `..`."""
    if not value.strip():
        raise ConfigError(f"{source}: {key}: empty path")
    if any(ord(ch) < 32 for ch in value):
        raise ConfigError(f"{source}: {key}: control character in path {value!r}")
    if ".." in PurePath(value).parts:
        raise ConfigError(f"{source}: {key}: path {value!r} climbs out with '..'; write the "
                          f"path without parent references (absolute if it lives elsewhere)")


def check_config_paths(cfg: RunConfig, source: str = "config") -> None:
    """Check every configured path of `cfg` (see `check_path`)."""
    for key, value in configured_paths(cfg).items():
        if value is not None:
            check_path(key, value, source=source)


def read_files(cfg: RunConfig) -> dict[str, str]:
    """Key path -> value of every setting naming a file the config's runs read."""
    files = {"alerts.rules": cfg.alerts.rules, "alerts.partners": cfg.alerts.partners,
             "scale.models_from": cfg.scale.models_from}
    if cfg.sources is not None:
        files.update({f"sources.inputs.{name}.path": src.path
                      for name, src in cfg.sources.inputs.items()})
    return {k: v for k, v in files.items() if v is not None}


def check_config_files(cfg: RunConfig, source: str = "config") -> None:
    """Raise `ConfigError` naming the key and the file when a file the config reads
    (`read_files`) is missing or is not a regular file."""
    for key, value in read_files(cfg).items():
        check_path(key, value, source=source)
        if value.startswith(PREFIX):  # a packaged data set: resolved by its own rules
            try:
                resolve_path(value, what=key)
            except Exception as exc:
                raise ConfigError(f"{source}: {key}: {exc}") from None
            continue
        path = Path(value)
        if not path.exists():
            raise ConfigError(f"{source}: {key}: file not found: {path}")
        if not path.is_file():
            raise ConfigError(f"{source}: {key}: not a file: {path}")
