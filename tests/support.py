"""Helpers every test layer shares: Slack's signing example, and the transcript on Jira read
back as a user would."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

# Slack's published request-signing example (secret, timestamp, body and its signature).
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TS = 1531420618
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770088"
    "5554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447"
    "fce8b6703c")
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def transcripts(sandbox: Any, key: str) -> list[dict[str, Any]]:
    """Every CSV attachment on the case (with content)."""
    return [a for a in sandbox.jira_issue(key)["attachments"] if a["filename"].endswith(".csv")]


def read_transcript(sandbox: Any, key: str) -> pd.DataFrame:
    """The one transcript CSV on the case, every cell a string (read with pandas, not with
    irbot's own reader, so a fault there cannot hide itself)."""
    files = transcripts(sandbox, key)
    assert len(files) == 1, [(a["id"], a["filename"]) for a in files]
    return pd.read_csv(io.BytesIO(files[0]["content"]), dtype=str, keep_default_na=False)
