"""How fast secrets are found: detect-secrets' defaults vs the pattern detectors irbot runs.

    python -m bench.redaction_speed [--lines 20000]

Scans ordinary incident chat (bench.backup_cost's phrases, one line in 500 holding a secret)
four ways: detect-secrets' own ad-hoc scan with its default plugins (entropy and IP detectors
included), irbot's chosen pattern detectors alone, the same behind irbot's cheap gate line by
line, and behind the gate run over all the lines at once (what backups run: `redact_many`).
Also counts what each flags, to show why the defaults are off: they flag chat.
Results go to bench/results/redaction_speed.json.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bench.backup_cost import PHRASES
from bench.common import machine_info, table, write_results
from tasks.redaction import findings, redact_many

SECRET_EVERY = 500
SECRET_LINE = "here is the key AKIAIOSFODNN7EXAMPLE, rotate it"


def chat(lines: int) -> list[str]:
    out = []
    for i in range(lines):
        text = f"{PHRASES[i % len(PHRASES)]} (#{i}) commit {i * 7919:012x}"
        out.append(SECRET_LINE if i % SECRET_EVERY == SECRET_EVERY - 1 else text)
    return out


def scan_with_defaults(line: str) -> int:
    from detect_secrets.core.scan import scan_line

    return len(list(scan_line(line)))


def each(scan: Callable[[str], int]) -> Callable[[list[str]], int]:
    """A per-line scanner as a scanner of all lines: how many it flags."""
    return lambda lines: sum(1 for line in lines if scan(line))


def measure(name: str, scan: Callable[[list[str]], int], lines: list[str]) -> dict[str, object]:
    started = time.perf_counter()
    flagged = scan(lines)
    seconds = time.perf_counter() - started
    return {"scanner": name, "lines": len(lines), "seconds": round(seconds, 3),
            "lines_per_s": round(len(lines) / seconds), "lines_flagged": flagged,
            "secrets_planted": len(lines) // SECRET_EVERY}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redaction_speed")
    parser.add_argument("--lines", type=int, default=20000)
    args = parser.parse_args(argv)
    lines = chat(args.lines)
    from detect_secrets.settings import default_settings

    with default_settings():
        # The defaults are slow: a tenth of the lines gives the rate well enough.
        runs = [measure("detect-secrets defaults (scan_line)", each(scan_with_defaults),
                        lines[: max(args.lines // 10, SECRET_EVERY)])]
    runs += [
        measure("irbot: pattern detectors, no gate",
                each(lambda s: len(findings(s, gated=False))), lines),
        measure("irbot: pattern detectors behind the gate, line by line",
                each(lambda s: len(findings(s))), lines),
        # What a backup runs: the gate over all it read at once, the detectors on what passes.
        measure("irbot: behind the gate, all lines at once (backups)",
                lambda ls: len(redact_many(ls)), lines),
    ]
    print(table(["scanner", "lines", "lines/s", "lines flagged", "secrets planted"],
                [[r["scanner"], r["lines"], r["lines_per_s"], r["lines_flagged"],
                  r["secrets_planted"]] for r in runs]))
    path = write_results("redaction_speed", {"benchmark": "redaction_speed",
                                             "machine": machine_info(), "runs": runs})
    print(f"Results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
