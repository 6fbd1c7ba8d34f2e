"""Who owns irbot's deployments on a server: serve and workers each refuse the other's."""

from __future__ import annotations

from webhook.ownership import refusal_for_serve, refusal_for_workers

SERVED = {"create-incident/create": None, "page-team/page": None}
DEPLOYED = {"create-incident/create": "irbot", "page-team/page": "irbot"}


def test_each_starts_on_a_server_without_irbot_deployments() -> None:
    assert refusal_for_serve({}) is None and refusal_for_workers({}) is None


def test_each_starts_again_over_its_own_deployments() -> None:
    assert refusal_for_serve(SERVED) is None
    assert refusal_for_workers(DEPLOYED) is None


def test_serve_refuses_the_workers_deployments_and_says_how_to_switch() -> None:
    said = refusal_for_serve(DEPLOYED)
    assert said is not None and "'irbot'" in said and "uvicorn webhook.app:create_api" in said
    assert "prefect deployment delete create-incident/create" in said
    assert "prefect deployment delete page-team/page" in said


def test_workers_refuse_serves_deployments_and_say_how_to_switch() -> None:
    said = refusal_for_workers({**SERVED, "backup-incident/backup": "irbot"})
    assert said is not None and "stop `irbot serve`" in said
    assert "prefect deployment delete create-incident/create" in said
    assert "backup-incident/backup" not in said  # already the workers'
