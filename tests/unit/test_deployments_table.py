"""prefect.yaml and `irbot serve` describe the same deployments and the same automation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flows.archive import cancellation_trigger
from flows.runner import deployments
from tasks import deployments as names
from webhook.local_prefect import FLOW_CLIENT_RETRIES, flow_env

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def _yaml_deployments() -> dict[str, dict[str, Any]]:
    spec = yaml.safe_load(PREFECT_YAML.read_text())
    return {d["name"]: d for d in spec["deployments"]}


def test_serve_and_prefect_yaml_name_the_same_deployments() -> None:
    served = {d.name: d for d in deployments()}
    assert set(served) == set(_yaml_deployments())
    for name, deployment in _yaml_deployments().items():
        module, _, function = deployment["entrypoint"].partition(":")
        assert served[name].entrypoint.endswith(function), (name, served[name].entrypoint)
        assert Path(module).stem in served[name].entrypoint


def test_both_name_exactly_the_deployments_of_tasks_deployments() -> None:
    """The names live in tasks/deployments.py; prefect.yaml cannot import them, so it is
    checked: each deployment's name, and the name of the flow its entrypoint points at."""
    from importlib import import_module

    in_yaml = set()
    for deployment in _yaml_deployments().values():
        module, _, function = deployment["entrypoint"].partition(":")
        flow = getattr(import_module(module.removesuffix(".py").replace("/", ".")), function)
        in_yaml.add(f"{flow.name}/{deployment['name']}")
    assert in_yaml == set(names.ALL)
    assert {d.full_name for d in deployments()} == set(names.ALL)


def test_every_run_of_either_waits_out_a_busy_server_alike() -> None:
    """Workers' runs get serve's patience with the Prefect server (a SQLite burst's 503s)."""
    for name, deployment in _yaml_deployments().items():
        env = deployment["work_pool"]["job_variables"]["env"]
        assert env["PREFECT_CLIENT_MAX_RETRIES"] == FLOW_CLIENT_RETRIES, name
    assert flow_env({})["PREFECT_CLIENT_MAX_RETRIES"] == FLOW_CLIENT_RETRIES
    # An operator's own choice wins.
    assert flow_env({"PREFECT_CLIENT_MAX_RETRIES": "3"})["PREFECT_CLIENT_MAX_RETRIES"] == "3"


def test_archive_cancellation_trigger_is_the_same_in_both() -> None:
    [from_yaml] = _yaml_deployments()["archive"]["triggers"]
    trigger = cancellation_trigger()
    assert from_yaml["name"] == trigger.name
    assert set(from_yaml["expect"]) == trigger.expect
    assert from_yaml["match_related"] == trigger.model_dump(mode="json")["match_related"]
    assert from_yaml["parameters"] == trigger.parameters
    served = {d.name: d for d in deployments()}
    assert [t.name for t in served["archive"].triggers] == [trigger.name]
    assert all(not d.triggers for name, d in served.items() if name != "archive")


def test_the_automatic_backup_schedule_is_the_same_in_both() -> None:
    from datetime import timedelta

    [from_yaml] = _yaml_deployments()["autobackup"]["schedules"]
    served = {d.name: d for d in deployments()}["autobackup"]
    [schedule] = served.schedules
    assert schedule.schedule.interval == timedelta(seconds=from_yaml["interval"]) \
        == timedelta(minutes=30)  # IRBOT_AUTO_BACKUP_MINUTES' default
    assert {d.name: d for d in deployments(45)}["autobackup"].schedules[0].schedule.interval \
        == timedelta(minutes=45)
    assert not {d.name: d for d in deployments(0)}["autobackup"].schedules  # 0 = off
    assert all(not d.schedules for d in deployments() if d.name != "autobackup")
