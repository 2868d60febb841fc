"""Expected failures, written for the person who has to fix them.

An expected failure (bad extract, bad spec, a leak the gate found) raises a subclass of
:class:`ReportcardError`. The CLI prints its message, with no traceback, and exits non-zero.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can.

    Rendered as::

        data/extract/2024/enrollment.parquet: row 17, column days_attended: days attended
        is greater than days enrolled (3 rows; e.g. 181 > 174, 200 > 12)
          Hint: ...
    """

    file: str
    rule: str
    """What was broken, in plain words."""
    row: int | None = None
    """1-based data row number (the header is not counted)."""
    key: str | None = None
    """Where ``row`` is not meaningful: e.g. ``sections[2].measure`` or ``district 001091``."""
    column: str | None = None
    examples: Sequence[str] = field(default_factory=tuple)
    count: int | None = None
    """How many rows break the rule, when more than one."""
    hint: str | None = None
    severity: str = "error"
    """``error`` stops the run; ``warning`` is reported and the run goes on."""

    def location(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.key is not None:
            parts.append(self.key)
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def render(self) -> str:
        where = self.location()
        head = f"{self.file}: {where}: {self.rule}" if where else f"{self.file}: {self.rule}"
        extra = []
        if self.count is not None and self.count > 1:
            extra.append(f"{self.count:,} rows")
        if self.examples:
            extra.append("e.g. " + ", ".join(str(e) for e in list(self.examples)[:5]))
        if extra:
            head += f" ({'; '.join(extra)})"
        if self.severity == "warning":
            head = "warning: " + head
        if self.hint:
            head += f"\n  Hint: {self.hint}"
        return head


class ReportcardError(Exception):
    """Base of every expected failure. ``str(err)`` is the whole message for the user."""


class InputError(ReportcardError):
    """One or more problems with an input file; all of them are listed at once."""

    def __init__(self, problems: Sequence[Problem], summary: str | None = None) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = summary or (
            f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found; nothing was changed."
        )
        super().__init__(head + "\n" + "\n".join(p.render() for p in self.problems))


class SpecError(ReportcardError):
    """A report spec or the disclosure policy is invalid. Lists every error at once."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        n = len(self.messages)
        super().__init__(
            f"{n} error{'s' if n != 1 else ''} in the report specs; nothing was computed.\n"
            + "\n".join(self.messages)
        )
