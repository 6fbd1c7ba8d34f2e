"""The cheap gate in front of the secret detectors (pure): text that none of them could match
skips them all, and most chat is such text.

Each detector needs one of these: a token of 20 characters or more, a keyword (pass, secret,
key…), a URL with credentials, or a short token's fixed prefix (xox…-, eyJ, AKC, AP…, npm_).
tests/unit/test_redaction_table.py checks that gated and ungated scans agree on every sample,
and that the gate of many texts at once agrees with the gate of each.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Sequence

import numpy as np

# Simple scans, not one regex of alternatives: most chat lines cost one search and a few `in`s.
_GATE_WORDS = ("pass", "pwd", "secret", "key", "contrase", "xox", "eyj", "akc", "npm_")
_SHORT_PREFIX = re.compile(r"AP[\dA-F]")
_LONG_WORD = re.compile(r"\S{20}")


def may_hold_secret(text: str) -> bool:
    """False when no chosen detector could match anything in the text."""
    if _LONG_WORD.search(text):
        return True
    lower = text.lower()
    if any(word in lower for word in _GATE_WORDS) or ("://" in text and "@" in text):
        return True
    return "AP" in text and _SHORT_PREFIX.search(text) is not None


# The whitespace that ends a word for `\S` and str.split (str.isspace): none lies above U+3000.
_SPACE = np.zeros(0x110000, dtype=bool)
_SPACE[[c for c in range(0x3001) if chr(c).isspace()]] = True


def _texts_with(starts: list[int], find: Callable[[int], int]) -> list[int]:
    """The texts (by index) in which `find(pos)`, the next match at or after pos or -1, lands."""
    found = []
    at = find(0)
    while at >= 0:
        found.append(bisect.bisect_right(starts, at) - 1)
        if found[-1] + 1 == len(starts):
            break
        at = find(starts[found[-1] + 1])  # one match is enough: on to the next text
    return found


def _regex_finder(pattern: re.Pattern[str], text: str) -> Callable[[int], int]:
    def find(pos: int) -> int:
        match = pattern.search(text, pos)
        return match.start() if match else -1
    return find


def may_hold_secrets(texts: Sequence[str]) -> list[int]:
    """The positions of the texts the gate (`may_hold_secret`) lets through, in order, found in
    one pass over their join: a message costs a few C-level scans instead of a regex search and
    a dozen `in`s of its own. Texts are joined by a newline, which no gate pattern crosses."""
    joined = "\n".join(texts)
    lower = joined.lower()
    if len(lower) != len(joined):  # a character lowered to two ('İ'): positions would drift
        return [i for i, text in enumerate(texts) if may_hold_secret(text)]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts: list[int] = (np.cumsum(lengths + 1) - lengths - 1).tolist()
    # A run of 20 non-space characters (`\S{20}`), found with numpy on the code points.
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    edges = np.concatenate(([-1], np.flatnonzero(_SPACE[codes]), [len(codes)]))
    runs = edges[:-1][np.diff(edges) > 20] + 1
    hits = set((np.searchsorted(starts, runs, side="right") - 1).tolist())
    for word in _GATE_WORDS:
        hits.update(_texts_with(starts, functools.partial(lower.find, word)))
    hits.update(i for i in _texts_with(starts, functools.partial(joined.find, "://"))
                if "@" in texts[i])
    hits.update(_texts_with(starts, _regex_finder(_SHORT_PREFIX, joined)))
    return sorted(hits)
