"""What the gate reports: one finding per thing that must not be published."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from site_builder.errors import ReportcardError

CHECKS: dict[str, str] = {
    "disclosure": "Disclosure: a published number reveals, or could reveal, a group of fewer "
                  "than 30 students",
    "pii": "Personal information: a value from the extract's restricted columns",
    "row_level": "Row-level data: more detail than the page shows",
    "external": "Requests to other hosts, cookies or tracking",
    "hygiene": "Restricted files or formats in the site",
}


@dataclass(frozen=True, order=True)
class Finding:
    """One reason the site may not be published."""

    check: str
    """One of :data:`CHECKS`."""
    file: str
    """Path relative to the site root."""
    rule: str
    where: str = ""
    """Line, element or JSON path inside the file."""
    evidence: str = ""
    """The offending text, masked where it is itself sensitive."""
    hint: str = ""

    def render(self) -> str:
        loc = f"{self.file}" + (f" ({self.where})" if self.where else "")
        text = f"[{self.check}] {loc}: {self.rule}"
        if self.evidence:
            text += f": {self.evidence}"
        if self.hint:
            text += f"\n    Hint: {self.hint}"
        return text


@dataclass
class GateReport:
    """Everything the gate found in one site directory."""

    site: str
    files_scanned: int = 0
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was checked, in plain words (shown even when the site passes)."""

    @property
    def ok(self) -> bool:
        return not self.findings

    def render(self, limit: int = 50) -> str:
        lines = [f"Gate on {self.site}: {self.files_scanned:,} files scanned."]
        lines += [f"  - {n}" for n in self.notes]
        if self.ok:
            lines.append("PASSED: nothing restricted, identifying or external was found.")
            return "\n".join(lines)
        counts = Counter(f.check for f in self.findings)
        lines.append(f"REFUSED: {len(self.findings):,} finding(s): "
                     + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        for f in sorted(self.findings)[:limit]:
            lines.append(f.render())
        if len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit:,} more")
        return "\n".join(lines)


class GateRefused(ReportcardError):
    """The gate found something that must not be published; nothing was published."""

    def __init__(self, report: GateReport) -> None:
        self.report = report
        super().__init__(report.render() + "\nNothing was published; the previous site/ is "
                                           "unchanged.")


def mask(value: str) -> str:
    """Show enough of a sensitive value to find it, not enough to re-publish it."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]
