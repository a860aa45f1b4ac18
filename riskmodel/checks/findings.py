"""What an input check found, and the report of one run's checks.

Each check returns `Finding`s (only problems: failures and warnings) and counts what it
looked at, so the report shows both what failed and how much passed. `CheckReport.raise_for`
turns the failures that are not explicitly overridden into the matching `RiskmodelError`
(bad input 2, stale input 3, drift 4), naming the first few problems in one line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from riskmodel.errors import DriftError, InputError, RiskmodelError, StaleInputError

Kind = Literal["schema", "freshness", "coverage", "drift"]
KINDS: tuple[Kind, ...] = ("schema", "freshness", "coverage", "drift")
# The override flag of each kind; schema problems are never overridable (the data is wrong,
# not merely old or unusual).
OVERRIDES: dict[str, str] = {"freshness": "allow_stale", "coverage": "allow_missing",
                             "drift": "allow_drift"}
_ERRORS: dict[str, type[RiskmodelError]] = {"schema": InputError, "freshness": StaleInputError,
                                            "coverage": InputError, "drift": DriftError}


@dataclass(frozen=True)
class Finding:
    """One problem: which check, which variable or feature, how bad, and the limit."""

    kind: Kind
    subject: str
    status: Literal["fail", "warn"]
    message: str
    value: float | str | None = None
    threshold: float | None = None


@dataclass
class CheckReport:
    """Findings of every check for one as-of month, with the overrides in force."""

    as_of: str
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    psi: dict[str, float] = field(default_factory=dict)

    def add(self, kind: Kind, n_checked: int, found: list[Finding]) -> None:
        """Record that `kind` looked at `n_checked` subjects and found `found`."""
        self.checked[kind] = self.checked.get(kind, 0) + n_checked
        self.findings.extend(found)

    def failures(self, *, overridden: bool | None = None) -> list[Finding]:
        """Failed findings; `overridden` True/False keeps only those (not) overridden."""
        out = [f for f in self.findings if f.status == "fail"]
        if overridden is None:
            return out
        return [f for f in out if (OVERRIDES.get(f.kind) in self.overrides) == overridden]

    def warnings(self) -> list[Finding]:
        """Warnings, plus failures that an explicit override let through."""
        return [f for f in self.findings if f.status == "warn"] + self.failures(overridden=True)

    @property
    def status(self) -> str:
        """`failed`, `overridden` (failures let through), `warnings` or `ok`."""
        if self.failures(overridden=False):
            return "failed"
        if self.failures(overridden=True):
            return "overridden"
        return "warnings" if self.warnings() else "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for `checks.json`, the manifest and the run history."""
        return {"as_of": self.as_of, "status": self.status, "checked": dict(self.checked),
                "overrides": list(self.overrides), "notes": list(self.notes),
                "findings": [asdict(f) for f in self.findings], "psi": dict(self.psi)}

    def raise_for(self, report_path: str | None = None) -> None:
        """Raise the error of the most basic failing kind (schema first), if any failed."""
        failed = self.failures(overridden=False)
        if not failed:
            return
        kind = next(k for k in KINDS if any(f.kind == k for f in failed))
        first = [f for f in failed if f.kind == kind]
        shown = "; ".join(f"{f.subject}: {f.message}" for f in first[:3])
        more = len(failed) - min(3, len(first))
        tail = f"; and {more} more failure(s)" if more else ""
        flag = OVERRIDES.get(kind)
        hint = f" (override with --{flag.replace('_', '-')})" if flag else ""
        where = f"; report in {report_path}" if report_path else ""
        raise _ERRORS[kind](f"input checks failed before scoring {self.as_of}: {kind}: "
                            f"{shown}{tail}{hint}{where}")
