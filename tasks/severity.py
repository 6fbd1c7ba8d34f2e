"""Incident severity levels, one list for the create form, `/irbot severity` and the settings
that are keyed by severity (pure)."""

from __future__ import annotations

import re

SEVERITY_LEVELS = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
_SEVERITY = re.compile(r"sev[-_ ]?([1-4])", re.IGNORECASE)


def parse_severity(word: str) -> str | None:
    """`SEV-2`, `sev2`, `Sev 2` → "SEV-2"; None for anything else."""
    match = _SEVERITY.fullmatch(word.strip())
    return f"SEV-{match.group(1)}" if match else None
