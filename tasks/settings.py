"""All configuration, read once from the environment (or `.env`)."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tasks.severity import SEVERITY_LEVELS, parse_severity

# Values copied from a template and never replaced; refusing them beats a confusing 401 later.
# IRBOT_CONTAIN_ALLOWED's entries: a user id (U…, or W… in Enterprise Grid) or a user group (S…).
_CONTAIN_ID = re.compile(r"[UWS][A-Z0-9]{2,40}")
_PLACEHOLDERS = {"", "changeme", "change-me", "xoxb-your-token", "your-signing-secret", "todo",
                 "xxx"}


class SettingsError(RuntimeError):
    """The environment is missing or misconfigures required settings."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]  # one "NAME reason" each, for `irbot check`


class Settings(BaseSettings):
    """irbot's settings; names are the contract in DESIGN.md."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    SLACK_BOT_TOKEN: SecretStr
    SLACK_SIGNING_SECRET: SecretStr
    SLACK_API_URL: str = "https://slack.com/api/"
    JIRA_URL: str
    JIRA_USER: str
    JIRA_API_TOKEN: SecretStr
    JIRA_PROJECT: str
    JIRA_ISSUE_TYPE: str = "Task"
    PAGERDUTY_EVENTS_URL: str = "https://events.pagerduty.com/v2/enqueue"
    # NoDecode: our validator parses the JSON, so "" and bad JSON get our own messages.
    PAGERDUTY_ROUTING_KEYS: Annotated[dict[str, SecretStr], NoDecode] = Field(default_factory=dict)
    IRBOT_ARCHIVE_DELAY_SECONDS: int = Field(default=3600, ge=0)
    # Operations: concurrent flow runs under `irbot serve`, and its local Prefect server's port.
    IRBOT_RUN_LIMIT: int = Field(default=20, ge=1)
    IRBOT_PREFECT_PORT: int = Field(default=4200, ge=1, le=65535)
    # Socket Mode: reconnect a socket that has brought nothing for this long (0 = never). Bolt
    # users report sockets that stay open but stop delivering after an idle reconnect.
    IRBOT_SOCKET_IDLE_SECONDS: int = Field(default=900, ge=0)
    # Socket Mode: an app-level token (xapp-…, scope connections:write) instead of a public URL.
    SLACK_APP_TOKEN: SecretStr | None = None
    # CrowdStrike Falcon (optional): OAuth2 client credentials for `/irbot contain` and `lift`;
    # without both, those commands answer that containment is not configured.
    FALCON_CLIENT_ID: str | None = None
    FALCON_CLIENT_SECRET: SecretStr | None = None
    FALCON_BASE_URL: str = "https://api.crowdstrike.com"
    # Who may confirm a containment besides the incident commander: Slack user ids (U…/W…) and
    # user-group ids (S…), comma-separated or a JSON list. Empty: the commander alone.
    IRBOT_CONTAIN_ALLOWED: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The transcript: automatic backups (0 = off), files attached up to this size, the emoji
    # that puts a message on the timeline, and secrets masked before anything leaves Slack.
    IRBOT_AUTO_BACKUP_MINUTES: int = Field(default=30, ge=0)
    IRBOT_MAX_FILE_MB: float = Field(default=10, ge=0)
    IRBOT_TIMELINE_EMOJI: str = "pushpin"
    IRBOT_REDACT_SECRETS: bool = True
    # Running the incident: the Jira priority name each severity sets, e.g. {"SEV-1": "Highest"}
    # (a severity not named leaves the priority alone).
    IRBOT_JIRA_PRIORITIES: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # Remind the commander to post a status update after this many minutes of quiet, by
    # severity (fractions allowed); a severity not named gets no reminders. "" = none at all.
    IRBOT_UPDATE_REMINDER_MINUTES: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"SEV-1": 30.0, "SEV-2": 60.0})

    @field_validator("IRBOT_TIMELINE_EMOJI")
    @classmethod
    def _emoji_name(cls, value: str) -> str:
        name = value.strip().strip(":")  # ":pushpin:" and "pushpin" mean the same
        if not name:
            raise ValueError("must name an emoji, e.g. pushpin")
        return name

    @field_validator("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "JIRA_API_TOKEN")
    @classmethod
    def _not_placeholder(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value().strip().lower() in _PLACEHOLDERS:
            raise ValueError("is empty or still a placeholder")
        return value

    @field_validator("SLACK_APP_TOKEN")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # unset or blank: HTTP mode
        if not value.get_secret_value().startswith("xapp-"):
            # A bot token here is the usual mistake; Slack would answer not_allowed_token_type.
            raise ValueError("must be an app-level token (xapp-…), from Basic Information → "
                             "App-Level Tokens")
        return value

    @field_validator("FALCON_CLIENT_ID", "FALCON_CLIENT_SECRET", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("JIRA_URL", "JIRA_USER", "JIRA_PROJECT")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if value.strip().lower() in _PLACEHOLDERS:
            raise ValueError("is empty or still a placeholder")
        return value.strip()

    @field_validator("SLACK_API_URL")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack-sdk appends the method name to base_url verbatim.
        return value if value.endswith("/") else value + "/"

    @field_validator("JIRA_URL", "FALCON_BASE_URL")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("PAGERDUTY_ROUTING_KEYS", mode="before")
    @classmethod
    def _parse_keys(cls, value: Any) -> Any:
        return _json_text(value, 'a JSON object like {"team": "routing key"}')

    @field_validator("IRBOT_JIRA_PRIORITIES", mode="before")
    @classmethod
    def _parse_priorities(cls, value: Any) -> Any:
        value = _json_text(value, 'a JSON object like {"SEV-1": "Highest"}')
        if isinstance(value, dict):
            # "sev1" and "SEV-1" name the same level, as `/irbot severity` reads them.
            return {_severity_key(str(k)): v for k, v in value.items()}
        return value

    def jira_priority(self, severity: str) -> str | None:
        """The Jira priority name this severity sets, if any."""
        return self.IRBOT_JIRA_PRIORITIES.get(severity) or None

    @field_validator("IRBOT_CONTAIN_ALLOWED", mode="before")
    @classmethod
    def _parse_allowed(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValueError('must be Slack ids, comma-separated or a JSON list like '
                                     '["U0123", "S0456"]') from None
            else:
                value = [part for part in text.split(",")]
        if not isinstance(value, list):
            raise ValueError("must be Slack ids, comma-separated or a JSON list")
        ids = [str(part).strip() for part in value if str(part).strip()]
        wrong = [i for i in ids if not _CONTAIN_ID.fullmatch(i)]
        if wrong:
            raise ValueError(f"holds {', '.join(repr(w[:20]) for w in wrong[:3])}: expected user "
                             "ids (U…, W…) or user-group ids (S…)")
        return list(dict.fromkeys(ids))

    @property
    def falcon_configured(self) -> bool:
        """Containment needs both halves of Falcon's client credentials."""
        return self.FALCON_CLIENT_ID is not None and self.FALCON_CLIENT_SECRET is not None
    @field_validator("IRBOT_UPDATE_REMINDER_MINUTES", mode="before")
    @classmethod
    def _parse_reminders(cls, value: Any) -> Any:
        return reminder_minutes(value)

    @property
    def socket_mode(self) -> bool:
        """An app token means Socket Mode: Slack is reached over a WebSocket we open."""
        return self.SLACK_APP_TOKEN is not None

    @property
    def max_file_bytes(self) -> int:
        return int(self.IRBOT_MAX_FILE_MB * 2**20)

    @property
    def pagerduty_teams(self) -> list[str]:
        return sorted(self.PAGERDUTY_ROUTING_KEYS)

    def reminder_period(self, severity: str) -> timedelta | None:
        """How much quiet earns the commander a reminder at this severity; None = never."""
        minutes = self.IRBOT_UPDATE_REMINDER_MINUTES.get(severity)
        return timedelta(minutes=minutes) if minutes else None

    def jira_browse_url(self, key: str) -> str:
        return f"{self.JIRA_URL}/browse/{key}"


def _json_text(value: Any, example: str) -> Any:
    """A setting given as JSON text, parsed ("" = {}); anything else as given."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return {}
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError(f"must be {example}") from None


def _severity_key(name: str) -> str:
    level = parse_severity(name)
    if level is None:
        raise ValueError(f"names {name!r}, not a severity SEV-1..SEV-4")
    return level


_REMINDER_EXAMPLE = 'a JSON object like {"SEV-1": 30, "SEV-2": 60} (minutes by severity)'


def reminder_minutes(raw: Any) -> dict[str, float]:
    """IRBOT_UPDATE_REMINDER_MINUTES parsed (JSON text, or a dict given in code); a ValueError
    says what is wrong with it."""
    value = _json_text(raw, _REMINDER_EXAMPLE)
    if not isinstance(value, dict):
        raise ValueError(f"must be {_REMINDER_EXAMPLE}")
    minutes: dict[str, float] = {}
    for severity, period in value.items():
        if severity not in SEVERITY_LEVELS:
            raise ValueError(f"names {severity!r}, not a severity (one of "
                             f"{', '.join(SEVERITY_LEVELS)})")
        # bool is an int to Python, and `true` minutes is surely a mistake.
        if isinstance(period, bool) or not isinstance(period, int | float) \
                or not math.isfinite(period) or period <= 0:
            raise ValueError(f"gives {severity} {period!r}: minutes must be a number above 0 "
                             "(leave a severity out to turn its reminders off)")
        minutes[severity] = float(period)
    return minutes


def load_settings() -> Settings:
    """Build Settings, turning validation errors into one message that names every bad variable."""
    try:
        return Settings()  # type: ignore[call-arg]  # values come from the environment
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(part) for part in err["loc"]) or "?"
            reason = "is required" if err["type"] == "missing" else err["msg"]
            problems.append(f"{name} {reason}")
        raise SettingsError("irbot is not configured: " + "; ".join(problems),
                            problems) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, built on first use."""
    return load_settings()
