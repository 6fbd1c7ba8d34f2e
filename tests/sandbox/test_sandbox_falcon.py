"""The CrowdStrike Falcon emulator through falconpy, unchanged but for base_url."""

from __future__ import annotations

import time

import pytest
from falconpy import Hosts
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import Sandbox


@pytest.fixture
def hosts(sb: Sandbox) -> Hosts:
    return Hosts(client_id=sb.falcon_client_id, client_secret=sb.falcon_client_secret,
                 base_url=sb.falcon_url)


def test_find_read_contain_and_lift(sb: Sandbox, hosts: Hosts) -> None:
    sb.set_falcon_settle(0.3)
    device = sb.add_host("web-01", platform_name="Linux", os_version="Ubuntu 24.04",
                         last_seen="2026-12-05T10:00:00Z")
    sb.add_host("db-01")
    found = hosts.query_devices_by_filter(filter="hostname:'WEB-01'")
    assert found["status_code"] == 200 and found["body"]["resources"] == [device]
    assert hosts.query_devices_by_filter(filter="hostname:'nope'")["body"]["resources"] == []
    [host] = hosts.get_device_details(ids=[device])["body"]["resources"]
    assert host == {**host, "hostname": "web-01", "platform_name": "Linux",
                    "os_version": "Ubuntu 24.04", "last_seen": "2026-12-05T10:00:00Z",
                    "status": "normal", "device_id": device}

    contained = hosts.perform_action(action_name="contain", ids=[device])
    assert contained["status_code"] == 202
    assert contained["body"]["resources"] == [{"id": device, "path": ""}]
    assert sb.falcon_host(device)["status"] == "containment_pending"
    time.sleep(0.4)
    assert sb.falcon_host(device)["status"] == "contained"
    assert hosts.perform_action(action_name="lift_containment", ids=[device])["status_code"] == 202
    assert sb.falcon_host(device)["status"] == "lift_containment_pending"
    time.sleep(0.4)
    assert sb.falcon_host(device)["status"] == "normal"
    assert [(a["action"], a["device_id"]) for a in sb.falcon_actions()] == [
        ("contain", device), ("lift_containment", device)]

    names = [(r.name, r.status) for r in sb.requests("falcon")]
    assert names[0] == ("POST /oauth2/token", 201)
    assert ("POST /devices/entities/devices-actions/v2", 202) in names
    action = sb.requests("falcon", "POST /devices/entities/devices-actions/v2")[0]
    assert action.query["action_name"] == "contain" and action.params == {"ids": [device]}
    assert all(r.auth_valid for r in sb.requests("falcon"))


def test_details_by_query_string_too(sb: Sandbox, hosts: Hosts) -> None:
    device = sb.add_host("mail-01")
    answer = hosts.get_device_details_v2(ids=device)
    assert answer["status_code"] == 200
    assert answer["body"]["resources"][0]["device_id"] == device
    assert hosts.get_device_details(ids=["0" * 32])["status_code"] == 404


def test_bad_credentials_are_401_and_never_recorded(sb: Sandbox) -> None:
    wrong = Hosts(client_id=sb.falcon_client_id, client_secret="wrong-secret",
                  base_url=sb.falcon_url)
    answer = wrong.query_devices_by_filter(filter="hostname:'web-01'")
    assert answer["status_code"] == 401
    assert answer["body"]["errors"][0]["code"] == 401 and answer["body"]["resources"] == []
    tokens = sb.requests("falcon", "POST /oauth2/token")
    assert tokens and all(r.status == 401 for r in tokens)
    assert "wrong-secret" not in repr(sb.requests())


def test_faults_use_falcons_error_shape(sb: Sandbox, hosts: Hosts) -> None:
    sb.add_host("web-01")
    sb.inject_fault("falcon", "GET /devices/queries", 429, retry_after=5)
    sb.inject_fault("falcon", "* /devices/queries", 503)
    limited = hosts.query_devices_by_filter(filter="hostname:'web-01'")
    assert limited["status_code"] == 429
    retry_at = int(limited["headers"]["x-ratelimit-retryafter"])
    assert time.time() + 3 < retry_at <= time.time() + 6  # a Unix time, as Falcon sends
    assert limited["body"]["errors"] == [{"code": 429, "message": "Too Many Requests"}]
    down = hosts.query_devices_by_filter(filter="hostname:'web-01'")
    assert down["status_code"] == 503 and down["body"]["resources"] == []
    assert hosts.query_devices_by_filter(filter="hostname:'web-01'")["status_code"] == 200


def test_refusals(sb: Sandbox, hosts: Hosts) -> None:
    device = sb.add_host("web-01")
    assert hosts.query_devices_by_filter(filter="platform_name:'Linux'")["status_code"] == 400
    assert hosts.perform_action(action_name="contain", ids=["f" * 32])["status_code"] == 404
    assert sb.falcon_actions() == []
    assert hosts.perform_action(action_name="contain", ids=[device])["status_code"] == 202


def test_usergroup_members(sb: Sandbox, slack: WebClient) -> None:
    alice, bob = sb.add_user("alice"), sb.add_user("bob")
    group = sb.add_usergroup("responders", [alice])
    assert group.startswith("S")
    assert slack.usergroups_users_list(usergroup=group)["users"] == [alice]
    assert sb.add_usergroup("responders", [alice, bob], group_id=group) == group
    assert slack.usergroups_users_list(usergroup=group)["users"] == [alice, bob]
    with pytest.raises(SlackApiError) as refused:
        slack.usergroups_users_list(usergroup="S0NOPE")
    assert refused.value.response["error"] == "no_such_subteam"
