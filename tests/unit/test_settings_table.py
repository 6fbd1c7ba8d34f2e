"""Settings from a clean environment: names every problem, never shows a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from tasks.settings import Settings, SettingsError, load_settings

REQUIRED = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "JIRA_URL", "JIRA_USER", "JIRA_API_TOKEN",
            "JIRA_PROJECT"]
OPTIONAL = ["SLACK_API_URL", "JIRA_ISSUE_TYPE", "PAGERDUTY_EVENTS_URL", "PAGERDUTY_ROUTING_KEYS",
            "IRBOT_ARCHIVE_DELAY_SECONDS", "IRBOT_AUTO_BACKUP_MINUTES", "IRBOT_MAX_FILE_MB",
            "IRBOT_TIMELINE_EMOJI", "IRBOT_REDACT_SECRETS", "IRBOT_JIRA_PRIORITIES",
            "FALCON_CLIENT_ID", "FALCON_CLIENT_SECRET", "FALCON_BASE_URL", "IRBOT_CONTAIN_ALLOWED"]
SECRETS = {"SLACK_BOT_TOKEN": "xoxb-s3cret-bot-token-111",
           "SLACK_SIGNING_SECRET": "s3cret-signing-222",
           "JIRA_API_TOKEN": "s3cret-jira-333"}
VALID = {**SECRETS, "JIRA_URL": "https://jira.example.com", "JIRA_USER": "bot@example.com",
         "JIRA_PROJECT": "SEC"}
ROUTING_SECRET = "s3cret-routing-444"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No .env file in reach either (tests/conftest.py already cleared irbot's variables)."""
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def given(env: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        env.setenv(name, value)


def problem(env: pytest.MonkeyPatch, values: dict[str, str]) -> str:
    given(env, values)
    with pytest.raises(SettingsError) as info:
        load_settings()
    return str(info.value)


def test_clean_environment_names_every_missing_variable(env: pytest.MonkeyPatch) -> None:
    message = problem(env, {})
    for name in REQUIRED:
        assert name in message
    for name in OPTIONAL:
        assert name not in message


@pytest.mark.parametrize(
    "values",
    [
        {"SLACK_BOT_TOKEN": SECRETS["SLACK_BOT_TOKEN"]},
        {"SLACK_SIGNING_SECRET": SECRETS["SLACK_SIGNING_SECRET"],
         "JIRA_API_TOKEN": SECRETS["JIRA_API_TOKEN"]},
        {**SECRETS, "PAGERDUTY_ROUTING_KEYS": f'{{"eng": "{ROUTING_SECRET}"}}'},
        {**SECRETS, "JIRA_URL": "changeme", "IRBOT_ARCHIVE_DELAY_SECONDS": "soon"},
        {**VALID, "PAGERDUTY_ROUTING_KEYS": f'{{"eng": "{ROUTING_SECRET}"}}',
         "IRBOT_ARCHIVE_DELAY_SECONDS": "-1"},
        {**VALID, "PAGERDUTY_ROUTING_KEYS": f'{{"eng": ["{ROUTING_SECRET}"]}}'},
    ],
)
def test_problems_never_show_secret_values(env: pytest.MonkeyPatch,
                                           values: dict[str, str]) -> None:
    message = problem(env, values)
    for secret in [*SECRETS.values(), ROUTING_SECRET, "s3cret"]:
        assert secret not in message
    missing = [n for n in REQUIRED if n not in values]
    assert all(n in message for n in missing)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "changeme"),
        ("SLACK_BOT_TOKEN", "CHANGEME"),
        ("SLACK_BOT_TOKEN", " changeme "),
        ("SLACK_BOT_TOKEN", "xoxb-your-token"),
        ("SLACK_BOT_TOKEN", ""),
        ("SLACK_SIGNING_SECRET", "changeme"),
        ("SLACK_SIGNING_SECRET", "your-signing-secret"),
        ("JIRA_API_TOKEN", "changeme"),
        ("JIRA_API_TOKEN", "   "),
        ("JIRA_URL", "changeme"),
        ("JIRA_USER", "todo"),
        ("JIRA_PROJECT", "xxx"),
        ("JIRA_PROJECT", ""),
    ],
)
def test_placeholders_are_refused(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    message = problem(env, {**VALID, name: value})
    assert name in message
    assert [n for n in REQUIRED if n in message] == [name]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IRBOT_ARCHIVE_DELAY_SECONDS", "-1"),
        ("IRBOT_ARCHIVE_DELAY_SECONDS", "an hour"),
        ("IRBOT_AUTO_BACKUP_MINUTES", "-5"),
        ("IRBOT_MAX_FILE_MB", "ten"),
        ("IRBOT_TIMELINE_EMOJI", "::"),
        ("IRBOT_REDACT_SECRETS", "maybe"),
    ],
)
def test_bad_optional_values_are_named(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    assert name in problem(env, {**VALID, name: value})


def test_defaults(env: pytest.MonkeyPatch) -> None:
    given(env, VALID)
    settings = load_settings()
    assert settings.SLACK_API_URL == "https://slack.com/api/"
    assert settings.JIRA_ISSUE_TYPE == "Task"
    assert settings.PAGERDUTY_EVENTS_URL == "https://events.pagerduty.com/v2/enqueue"
    assert settings.IRBOT_ARCHIVE_DELAY_SECONDS == 3600
    assert settings.PAGERDUTY_ROUTING_KEYS == {}
    assert settings.pagerduty_teams == []
    assert settings.IRBOT_AUTO_BACKUP_MINUTES == 30
    assert settings.IRBOT_MAX_FILE_MB == 10 and settings.max_file_bytes == 10 * 2**20
    assert settings.IRBOT_TIMELINE_EMOJI == "pushpin"
    assert settings.IRBOT_REDACT_SECRETS is True


def test_transcript_settings(env: pytest.MonkeyPatch) -> None:
    given(env, {**VALID, "IRBOT_AUTO_BACKUP_MINUTES": "0", "IRBOT_MAX_FILE_MB": "0.5",
                "IRBOT_TIMELINE_EMOJI": ":round_pushpin:", "IRBOT_REDACT_SECRETS": "false"})
    settings = load_settings()
    assert settings.IRBOT_AUTO_BACKUP_MINUTES == 0 and settings.max_file_bytes == 2**19
    assert settings.IRBOT_TIMELINE_EMOJI == "round_pushpin"
    assert settings.IRBOT_REDACT_SECRETS is False


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("http://127.0.0.1:8080/api", "http://127.0.0.1:8080/api/"),
        ("http://127.0.0.1:8080/api/", "http://127.0.0.1:8080/api/"),
        ("https://slack.com/api", "https://slack.com/api/"),
    ],
)
def test_slack_api_url_gets_trailing_slash(env: pytest.MonkeyPatch, given_url: str,
                                           expected: str) -> None:
    given(env, {**VALID, "SLACK_API_URL": given_url})
    assert load_settings().SLACK_API_URL == expected


@pytest.mark.parametrize(
    ("given_url", "browse"),
    [
        ("https://jira.example.com", "https://jira.example.com/browse/SEC-1"),
        ("https://jira.example.com/", "https://jira.example.com/browse/SEC-1"),
        ("  https://jira.example.com//  ", "https://jira.example.com/browse/SEC-1"),
    ],
)
def test_jira_browse_url(env: pytest.MonkeyPatch, given_url: str, browse: str) -> None:
    given(env, {**VALID, "JIRA_URL": given_url})
    assert load_settings().jira_browse_url("SEC-1") == browse


@pytest.mark.parametrize(
    ("raw", "keys"),
    [
        ('{"engineering": "rk-eng", "db": "rk-db"}', {"engineering": "rk-eng", "db": "rk-db"}),
        ("{}", {}),
        ('{"ops": "rk-ops"}', {"ops": "rk-ops"}),
    ],
)
def test_routing_keys_from_json(env: pytest.MonkeyPatch, raw: str, keys: dict[str, str]) -> None:
    given(env, {**VALID, "PAGERDUTY_ROUTING_KEYS": raw})
    settings = load_settings()
    assert {t: k.get_secret_value() for t, k in settings.PAGERDUTY_ROUTING_KEYS.items()} == keys
    assert all(isinstance(k, SecretStr) for k in settings.PAGERDUTY_ROUTING_KEYS.values())
    assert settings.pagerduty_teams == sorted(keys)


def test_empty_routing_keys_mean_no_teams(env: pytest.MonkeyPatch) -> None:
    given(env, {**VALID, "PAGERDUTY_ROUTING_KEYS": ""})
    assert load_settings().PAGERDUTY_ROUTING_KEYS == {}


@pytest.mark.parametrize("raw", [f'{{"eng": "{ROUTING_SECRET}"', "not json"])
def test_malformed_routing_keys_are_a_settings_error(env: pytest.MonkeyPatch, raw: str) -> None:
    message = problem(env, {**VALID, "PAGERDUTY_ROUTING_KEYS": raw})
    assert "PAGERDUTY_ROUTING_KEYS" in message
    assert ROUTING_SECRET not in message


def test_repr_hides_secrets(env: pytest.MonkeyPatch) -> None:
    given(env, {**VALID, "PAGERDUTY_ROUTING_KEYS": f'{{"eng": "{ROUTING_SECRET}"}}'})
    settings = load_settings()
    shown = repr(settings) + str(settings) + repr(settings.model_dump())
    for secret in [*SECRETS.values(), ROUTING_SECRET]:
        assert secret not in shown
    assert settings.SLACK_BOT_TOKEN.get_secret_value() == SECRETS["SLACK_BOT_TOKEN"]


def test_dot_env_in_working_directory_is_read(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setitem(Settings.model_config, "env_file", ".env")  # irbot's own; other tests read none
    (tmp_path / ".env").write_text(
        "".join(f"{k}={v}\n" for k, v in VALID.items()) + "JIRA_ISSUE_TYPE=Incident\n",
        encoding="utf-8")
    settings = load_settings()
    assert isinstance(settings, Settings)
    assert settings.JIRA_ISSUE_TYPE == "Incident"
    assert settings.JIRA_PROJECT == "SEC"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        ('{"SEV-1": "Highest"}', {"SEV-1": "Highest"}),
        ('{"sev1": "Highest", "Sev-2": "High"}', {"SEV-1": "Highest", "SEV-2": "High"}),
    ],
)
def test_jira_priorities(env: pytest.MonkeyPatch, value: str, expected: dict[str, str]) -> None:
    given(env, {**VALID, "IRBOT_JIRA_PRIORITIES": value})
    settings = load_settings()
    assert settings.IRBOT_JIRA_PRIORITIES == expected
    assert settings.jira_priority("SEV-1") == expected.get("SEV-1")
    assert settings.jira_priority("SEV-4") is None


@pytest.mark.parametrize(("value", "says"),
                         [("Highest", "JSON object"), ('{"P1": "Highest"}', "not a severity")])
def test_jira_priorities_refused(env: pytest.MonkeyPatch, value: str, says: str) -> None:
    message = problem(env, {**VALID, "IRBOT_JIRA_PRIORITIES": value})
    assert "IRBOT_JIRA_PRIORITIES" in message and says in message


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        ("", []),
        ("U0ALICE", ["U0ALICE"]),
        ("U0ALICE, S0RESPOND ,W0GRID", ["U0ALICE", "S0RESPOND", "W0GRID"]),
        ('["U0ALICE", "S0RESPOND"]', ["U0ALICE", "S0RESPOND"]),
        ("U0ALICE,,U0ALICE", ["U0ALICE"]),
    ],
)
def test_contain_allowed(env: pytest.MonkeyPatch, raw: str, ids: list[str]) -> None:
    given(env, {**VALID, "IRBOT_CONTAIN_ALLOWED": raw})
    assert load_settings().IRBOT_CONTAIN_ALLOWED == ids


@pytest.mark.parametrize("raw", ["@alice", "C0CHANNEL", '["U0ALICE"', '{"a": 1}', "u0alice"])
def test_contain_allowed_refuses_what_is_not_a_user_or_group(env: pytest.MonkeyPatch,
                                                             raw: str) -> None:
    assert "IRBOT_CONTAIN_ALLOWED" in problem(env, {**VALID, "IRBOT_CONTAIN_ALLOWED": raw})


@pytest.mark.parametrize(
    ("values", "configured"),
    [
        ({}, False),
        ({"FALCON_CLIENT_ID": "abc"}, False),
        ({"FALCON_CLIENT_ID": "abc", "FALCON_CLIENT_SECRET": " "}, False),
        ({"FALCON_CLIENT_ID": "abc", "FALCON_CLIENT_SECRET": "s3cret-falcon-555"}, True),
    ],
)
def test_falcon_settings(env: pytest.MonkeyPatch, values: dict[str, str],
                         configured: bool) -> None:
    given(env, {**VALID, **values, "FALCON_BASE_URL": "https://api.us-2.crowdstrike.com/"})
    settings = load_settings()
    assert settings.falcon_configured is configured
    assert settings.FALCON_BASE_URL == "https://api.us-2.crowdstrike.com"
    assert "s3cret-falcon-555" not in repr(settings)


def test_falcon_defaults(env: pytest.MonkeyPatch) -> None:
    given(env, VALID)
    settings = load_settings()
    assert settings.FALCON_BASE_URL == "https://api.crowdstrike.com"
    assert settings.IRBOT_CONTAIN_ALLOWED == [] and not settings.falcon_configured
