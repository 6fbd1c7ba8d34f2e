"""Secrets masked by detect-secrets' pattern detectors (pure): what is masked, what is not."""

from __future__ import annotations

import pytest

from tasks.redaction import (
    PATTERN_DETECTORS,
    count_markers,
    findings,
    holds_secret,
    marker,
    redact,
    redact_many,
)
from tasks.secret_gate import may_hold_secret, may_hold_secrets

# (sample line, the secret in it, the detector kind that must mask it). Test values only.
SECRETS = [
    ("key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "AWS Access Key"),
    ("AccountName=x;AccountKey=" + "a" * 86 + "==;", "a" * 86, "Azure Storage Account access key"),
    ("ibm_cloud_iam_api_key: " + "abcd1234" * 5 + "abcd", "abcd1234" * 5, "IBM Cloud IAM Key"),
    ("secret_access_key = '" + "abcd1234" * 6 + "'", "abcd1234" * 6, "IBM COS HMAC Credentials"),
    ("softlayer_api_key = " + "abcdef0123456789" * 4, "abcdef0123456789" * 4,
     "SoftLayer Credentials"),
    ("cloudant_password = '" + "0123456789abcdef" * 4 + "'", "0123456789abcdef" * 4,
     "Cloudant Credentials"),
    ("token AKCp5abcdefghijk0123 done", "AKCp5abcdefghijk0123", "Artifactory Credentials"),
    ("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", "wWPw5k4aXcaT4fNP0Ucn", "GitHub Token"),
    ("here glpat-abcdefghij0123456789", "glpat-abcdefghij0123456789", "GitLab Token"),
    ("//registry.npmjs.org/:_authToken=npm_" + "a1" * 18, "npm_" + "a1" * 18, "NPM tokens"),
    ("pypi-AgEIcHlwaS5vcmc" + "A" * 70, "A" * 70, "PyPI Token"),
    ("use xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx now",
     "AbCdEfGhIjKlMnOpQrStUvWx", "Slack Token"),
    ("MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs", "ZnCjm1XVW7vRze4b7Cq4se7kKWs",
     "Discord Bot Token"),
    ("110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq",
     "Telegram Bot Token"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc", "Stripe Access Key"),
    ("sq0csp-" + "a" * 43, "a" * 43, "Square OAuth Secret"),
    ("SK" + "0123456789abcdef" * 2, "0123456789abcdef" * 2, "Twilio API Key"),
    ("SG." + "a" * 22 + "." + "b" * 43, "b" * 43, "SendGrid API Key"),
    ("0123456789abcdef0123456789abcdef-us12", "0123456789abcdef0123456789abcdef",
     "Mailchimp Access Key"),
    ("sk-" + "a" * 20 + "T3BlbkFJ" + "b" * 20, "T3BlbkFJ", "OpenAI Token"),
    ("jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
     "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c ok", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
     "JSON Web Token"),
    ("see https://admin:s3cr3tpass@db.example.com/x", "s3cr3tpass", "Basic Auth Credentials"),
    ("password=hunter22", "hunter22", "Secret Keyword"),
    ("the db password: hunter22 ok", "hunter22", "Secret Keyword"),
    ('api_key = "abc def"', "abc def", "Secret Keyword"),
]
PRIVATE_KEY = ("before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyu\n"
               "vBjM2ddIjBVnYKo\n-----END RSA PRIVATE KEY-----\nafter")
# Ordinary incident chat, including what entropy and IP detectors would flag: left alone.
CHAT = [
    "checked the load balancer logs, nothing unusual in the last hour",
    "restarting the payment workers in eu-west-1 now",
    "rollback of release 2024.11.3 is done, error rate dropping",
    "commit 3f2a9c1e8b7d4a6f0e1d2c3b4a5f6e7d8c9b0a1f fixed it",
    "the attacker came from 203.0.113.77 and 198.51.100.4",
    "ticket INC-4711, see https://status.example.com/incidents/123456789",
    "I reset my password yesterday, and the key vault secret rotation ran",
    "+1", "=SUM(A1:A9)", "", "émoji 🔥 and 日本語",
    "dGhpcyBpcyBqdXN0IGJhc2U2NCBlbmNvZGVkIHRleHQ=",
]


@pytest.mark.parametrize(("line", "secret", "kind"), SECRETS, ids=[s[2] for s in SECRETS])
def test_each_chosen_detector_masks_its_secret(line: str, secret: str, kind: str) -> None:
    masked, count = redact(line)
    assert secret not in masked
    assert marker(kind) in masked or count_markers([masked]) >= 1, masked
    assert count >= 1 and count_markers([masked]) == count
    assert redact(masked) == (masked, 0)  # a marker is never taken for a secret


def test_every_chosen_detector_is_exercised() -> None:
    reported = {f.kind for line, _, _ in SECRETS for f in findings(line, gated=False)}
    reported |= {f.kind for line in PRIVATE_KEY.splitlines() for f in findings(line, False)}
    assert {d.secret_type for d in PATTERN_DETECTORS} <= reported


def test_a_private_key_is_masked_as_one_block() -> None:
    masked, count = redact(PRIVATE_KEY)
    assert masked == "before\n[redacted: Private Key]\nafter" and count == 1
    cut = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"  # pasted half
    assert redact(cut) == ("[redacted: Private Key]", 1)


@pytest.mark.parametrize("line", CHAT)
def test_ordinary_chat_is_left_alone(line: str) -> None:
    assert redact(line) == (line, 0)


@pytest.mark.parametrize("text", [s[0] for s in SECRETS] + CHAT + [PRIVATE_KEY])
def test_the_gate_never_changes_the_outcome(text: str) -> None:
    assert redact(text, gated=True) == redact(text, gated=False)


# Texts where a per-text scan and a scan of the join could differ: words at the edges, every
# kind of whitespace, a character that lowers to two, a lone surrogate, a URL's parts apart.
GATE_EDGES = ["", "x" * 19, "y" * 20, "z" * 21 + " end", "a\u3000" + "b" * 20,
              "c" * 10 + "\xa0" + "d" * 10, "line\n" + "e" * 20, "PASS word", "Ke", "y split",
              "İstanbul key", "\ud800 lone", "https://", "@host", "https://user@host", "AP",
              "1 text", "APF here", "NPM_x", "\U0001d518" * 20]


@pytest.mark.parametrize("texts", [GATE_EDGES, GATE_EDGES[::-1], [t for t in GATE_EDGES
                                                                  if "İ" not in t], CHAT, []])
def test_the_gate_of_many_texts_is_the_gate_of_each(texts: list[str]) -> None:
    assert may_hold_secrets(texts) == [i for i, t in enumerate(texts) if may_hold_secret(t)]


def test_redact_many_is_redact_of_each() -> None:
    texts = [s[0] for s in SECRETS] + CHAT + [PRIVATE_KEY, ""]
    assert redact_many(texts) == {i: redact(t) for i, t in enumerate(texts) if redact(t)[1]}


def test_several_secrets_in_one_message_are_counted() -> None:
    text = "aws AKIAIOSFODNN7EXAMPLE\nand password=hunter22 and AKIAIOSFODNN7EXAMPLE again"
    masked, count = redact(text)
    assert count == 3 and count_markers([masked]) == 3
    assert "AKIA" not in masked and "hunter22" not in masked


@pytest.mark.parametrize(("content", "secret"), [
    (b"2024-01-01 INFO started\n2024-01-01 INFO token=xoxb-1234-5678-abcdefgh\n", True),
    (b'{"aws_key": "AKIAIOSFODNN7EXAMPLE"}', True),
    (b"ts,host\n1,web-1\n2,web-2\n", False),
    (b"\xff\xfe not utf-8 \x00", False),
])
def test_text_files_are_scanned_line_by_line(content: bytes, secret: bool) -> None:
    assert holds_secret(content) is secret
