"""Flow-run processes load irbot's modules compiled, even where Python is told never to write
bytecode (PYTHONDONTWRITEBYTECODE, as on this machine and in CI) and the install is editable."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from webhook.local_prefect import compile_flow_modules


def test_the_flow_and_task_modules_get_their_bytecode_written() -> None:
    cached = []
    for name in ("flows.create", "tasks.state"):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.cached is not None
        cached.append(Path(spec.cached))
        Path(spec.cached).unlink(missing_ok=True)
    compile_flow_modules()
    assert all(path.is_file() for path in cached), cached
