"""Secrets masked before anything leaves Slack (pure): detect-secrets' pattern detectors only.

Chosen deliberately: cloud and SaaS keys and tokens, private keys, JWTs, credentials in URLs and
`password=`-style assignments. Left out: the entropy detectors (Base64/Hex high entropy) and the
public-IP detector, which flag ordinary chat (ticket numbers, commit hashes, the addresses an
incident is about) and, with them, detect-secrets scans about 700 chat lines/s instead of
about 10,000.

The detectors are called directly (`analyze_string`): detect-secrets' scan API would also try to
*verify* candidates against the vendors' APIs, sending the secret over the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import (
    CONFIG_DENYLIST_REGEX_TO_GROUP,
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
    KeywordDetector,
)
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from tasks.secret_gate import may_hold_secret, may_hold_secrets

PATTERN_DETECTORS: tuple[BasePlugin, ...] = (
    AWSKeyDetector(), AzureStorageKeyDetector(), IbmCloudIamDetector(), IbmCosHmacDetector(),
    SoftlayerDetector(), CloudantDetector(), ArtifactoryDetector(),  # cloud
    GitHubTokenDetector(), GitLabTokenDetector(), NpmDetector(), PypiTokenDetector(),  # code
    SlackDetector(), DiscordBotTokenDetector(), TelegramBotTokenDetector(),  # chat
    StripeDetector(), SquareOAuthDetector(), TwilioKeyDetector(), SendGridDetector(),
    MailchimpDetector(), OpenAIDetector(),  # SaaS
    PrivateKeyDetector(), JwtTokenDetector(), BasicAuthDetector(),
)
_KEYWORDS = KeywordDetector()
# Chat is neither code nor config: `password: x`, `password=x` and `password = "x y"` all count.
_KEYWORD_FORMS = (CONFIG_DENYLIST_REGEX_TO_GROUP, QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
KEYWORD_KIND = KeywordDetector.secret_type
PRIVATE_KEY_KIND = PrivateKeyDetector.secret_type

# A detector may report only part of a token (a JWT without its signature, `ghp` of a GitHub
# token): the mask covers the whole token around what it reported.
_TOKEN_TAIL = re.compile(r"[\w+/=.\-]*")
_TOKEN_HEAD = re.compile(r"[\w\-]*$")
_KEY_BLOCK = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
    r"|\Z)|PuTTY-User-Key-File-\d.*\Z", re.DOTALL)
MARKER_PREFIX = "[redacted: "
_MARKER = re.compile(re.escape(MARKER_PREFIX) + r"[^\]]*\]")


def marker(kind: str) -> str:
    """What stands in for a secret: its kind, never any part of it."""
    return f"{MARKER_PREFIX}{kind}]"


def count_markers(values: Iterable[str]) -> int:
    """How many secrets are masked in these cells."""
    return sum(len(_MARKER.findall(v)) for v in values if MARKER_PREFIX in v)


@dataclass(frozen=True)
class Finding:
    kind: str
    value: str


def findings(line: str, gated: bool = True) -> list[Finding]:
    """Every secret the chosen detectors report in one line."""
    if gated and not may_hold_secret(line):
        return []
    found = [Finding(d.secret_type, value) for d in PATTERN_DETECTORS
             for value in d.analyze_string(line) if value]
    for form in _KEYWORD_FORMS:
        for value in _KEYWORDS.analyze_string(line, denylist_regex_to_group=form):
            # The config form takes the rest of the line; in chat an unquoted value ends at a
            # space (quoted values come whole from the quoted form).
            value = value.split()[0] if form is CONFIG_DENYLIST_REGEX_TO_GROUP and value.strip() \
                else value
            if value and not value.startswith(MARKER_PREFIX):
                found.append(Finding(KEYWORD_KIND, value))
    return found


def _mask_line(line: str, found: list[Finding]) -> tuple[str, int]:
    masked = 0
    # Longest first, so a value inside another (a token and its prefix) is masked once.
    for item in sorted(found, key=lambda f: -len(f.value)):
        start = line.find(item.value)
        while start >= 0:
            head = _TOKEN_HEAD.search(line, 0, start)
            begin = head.start() if head else start
            end = _TOKEN_TAIL.match(line, start + len(item.value))
            stop = end.end() if end else start + len(item.value)
            label = marker(item.kind)
            line = line[:begin] + label + line[stop:]
            masked += 1
            start = line.find(item.value, begin + len(label))
    return line, masked


def redact(text: str, gated: bool = True) -> tuple[str, int]:
    """The text with every secret replaced by its marker, and how many were replaced."""
    if not text or (gated and not may_hold_secret(text)):
        return text, 0
    total = 0
    lines = text.split("\n")
    headers = [i for i, line in enumerate(lines)
               if any(f.kind == PRIVATE_KEY_KIND for f in findings(line, gated))]
    if headers:
        # A key is a block of lines, not one: mask it whole, up to its END line (or to the
        # end of the text when its armour is not recognised).
        text, blocks = _KEY_BLOCK.subn(marker(PRIVATE_KEY_KIND), text)
        if not blocks:
            text, blocks = "\n".join([*lines[:headers[0]], marker(PRIVATE_KEY_KIND)]), 1
        total += blocks
        lines = text.split("\n")
    out = []
    for line in lines:
        found = findings(line, gated)
        if found:
            line, masked = _mask_line(line, found)
            total += masked
        out.append(line)
    return "\n".join(out), total


def redact_many(texts: Sequence[str]) -> dict[int, tuple[str, int]]:
    """The texts `redact` changes, by position, masked and with their counts: the gate runs
    over all of them at once (a backup's messages), the detectors on the few it lets through."""
    changed = {}
    for i in may_hold_secrets(texts):
        text, count = redact(texts[i])
        if text != texts[i]:
            changed[i] = (text, count)
    return changed


def holds_secret(content: bytes) -> bool:
    """True when a text file has a line any detector reports."""
    text = content.decode("utf-8", errors="replace")
    return any(findings(line) for line in text.splitlines())
