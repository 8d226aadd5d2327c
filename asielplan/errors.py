"""Error and warning types shared by every part of asielplan."""

from __future__ import annotations

from dataclasses import dataclass


class AsielplanWarning(UserWarning):
    """A warning raised by asielplan itself (the test suite turns these into errors)."""


@dataclass(frozen=True, order=True)
class Issue:
    """One problem found in the input, precise enough to find and fix it.

    ``row`` is the 1-based data row (the header is not counted); for a CSV file the
    line in a text editor is ``row + 1``. ``None`` means the issue concerns the whole
    file or column.
    """

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str
    severity: str = "error"  # or "warning": legal input that is probably not meant

    def location(self) -> str:
        parts = [self.file]
        if self.row is not None:
            line = f" (line {self.row + 1})" if self.file.endswith(".csv") else ""
            parts.append(f"row {self.row}{line}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location()}: [{self.rule}] {self.message}"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"


class InputError(Exception):
    """The input cannot be used; ``issues`` lists every problem found, not just the first."""

    def __init__(self, issues: list[Issue], source: str = "input") -> None:
        self.issues = sorted(issues, key=_issue_sort_key)
        self.source = source
        super().__init__(self._summary())

    def _summary(self) -> str:
        n = len(self.issues)
        head = "\n".join(f"  - {issue}" for issue in self.issues[:20])
        more = f"\n  ... and {n - 20} more" if n > 20 else ""
        return f"'{self.source}' has {n} problem(s):\n{head}{more}"


def _issue_sort_key(issue: Issue) -> tuple[str, int, str, str, str]:
    return (
        issue.file,
        -1 if issue.row is None else issue.row,
        issue.column or "",
        issue.rule,
        issue.message,
    )


class ConfigError(Exception):
    """A run configuration is invalid (unknown key, wrong type, unknown scenario)."""


class OutputError(ConfigError):
    """An output folder cannot or must not be written (checked before any work)."""
