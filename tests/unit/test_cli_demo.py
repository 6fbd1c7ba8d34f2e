"""`irbot demo` needs the `demo` extra, and says how to install it when it is missing."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from webhook import cli

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_demo_extra_is_what_the_cli_checks_and_dev_includes_it() -> None:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    names = tuple(re.split(r"[<>=\[ ]", spec, maxsplit=1)[0] for spec in extras["demo"])
    assert names == cli.DEMO_EXTRA
    assert "irbot[demo]" in extras["dev"]
    product = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    assert not [d for d in product if d.startswith(cli.DEMO_EXTRA)]


def test_demo_without_the_extra_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_demo_lacks", lambda: ["python-multipart"])
    assert cli.main(["demo"]) == 2
    assert "pip install 'irbot[demo]'" in capsys.readouterr().err


def test_everything_the_demo_needs_is_installed_here() -> None:
    assert cli._demo_lacks() == []
