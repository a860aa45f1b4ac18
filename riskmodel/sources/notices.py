"""Notices: things a reader accepted but the user should know (gaps, skipped codes,
skipped features). They are collected per load, printed by the CLI, and stored in the
inputs' attrs so a saved cube says what went into it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Notices:
    """An ordered list of one-line notices, each naming its file or feature."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        """Record one notice."""
        self.lines.append(line)

    def extend(self, other: Notices) -> None:
        """Append the notices of `other`."""
        self.lines.extend(other.lines)
