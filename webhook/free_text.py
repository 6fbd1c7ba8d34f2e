"""Free text typed by responders, made safe to leave Slack (pure).

With `should_escape: true` Slack sends links, channels and people in its own markup and escapes
`&`, `<` and `>`: Jira, PagerDuty and our flows want what the person read, so the markup is
turned back into plain text; then secrets are masked as the transcript masks them.
"""

from __future__ import annotations

import re

from tasks.redaction import redact

# <target|label> or <target>: links, #channels, @people, !special mentions and dates.
_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # &amp; last: "&amp;lt;" is "&lt;"


def _plain(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("!"):
        special = target[1:].split("^", 1)[0]
        if special == "date" or special == "subteam":
            return label or special
        return "@" + (label or special).lstrip("@")
    if not label or label == target:
        return target
    if target.startswith("mailto:") and label == target.removeprefix("mailto:"):
        return label
    return f"{label} ({target})"


def plain_text(escaped: str) -> str:
    """Slack's escaped markup as a person reads it: `<http://x|docs>` → `docs (http://x)`,
    `<#C1|ops>` → `#ops`, `<@U1|al>` → `@al`, `&lt;` → `<`."""
    text = _MARKUP.sub(_plain, escaped)
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def responder_text(text: str, mask: bool, escaped: bool = True) -> str:
    """What may become a flow parameter, a Jira comment or a PagerDuty event: plain (when it
    came escaped, as slash-command text does) and with secrets masked (unless masking is off)."""
    plain = plain_text(text) if escaped else text
    return redact(plain)[0] if mask else plain
