"""Slack Web API parameters: merged from query, form and JSON, read with Slack's coercions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no", ""}


class SlackError(Exception):
    """An `{"ok": false, "error": code}` answer (HTTP 200), with optional extra fields."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.code, **self.extra}


async def merged_params(request: Request) -> dict[str, Any]:
    """Query, then form (urlencoded or multipart), then JSON body: later sources win.

    The clients differ (sync WebClient posts forms, AsyncWebClient uses query strings and JSON),
    so every method reads from all three.
    """
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        try:
            for key, value in form.multi_items():
                if not isinstance(value, UploadFile):  # files.* is not emulated
                    params[key] = value
        finally:
            await form.close()
    elif content_type.startswith("application/json"):
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise SlackError("invalid_json") from exc
            if not isinstance(body, dict):
                raise SlackError("json_not_object")
            params.update(body)
    return params


class Params:
    """Typed access to one call's parameters."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "1" if value else "0"
        return value if isinstance(value, str) else json.dumps(value)

    def required(self, name: str, error: str | None = None) -> str:
        value = self.get_str(name)
        if value is None or value == "":
            raise SlackError(error or "invalid_arguments")
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise SlackError("invalid_arguments", response_metadata={
            "messages": [f"[ERROR] invalid boolean for '{name}'"]})

    def get_int(self, name: str, default: int) -> int:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise SlackError("invalid_arguments", response_metadata={
                "messages": [f"[ERROR] invalid integer for '{name}'"]}) from exc

    def get_list(self, name: str) -> list[str]:
        """A comma-joined string or a JSON list."""
        value = self.raw.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        text = str(value).strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return [str(v).strip() for v in parsed if str(v).strip()]
        return [part.strip() for part in text.split(",") if part.strip()]

    def get_json(self, name: str) -> Any:
        """A JSON value sent either as structured JSON or as a JSON-encoded string."""
        value = self.raw.get(name)
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise SlackError("invalid_arguments", response_metadata={
                    "messages": [f"[ERROR] '{name}' is not valid JSON"]}) from exc
        return value
