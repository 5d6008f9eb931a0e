"""Who the client is: X-Forwarded-For only from our own proxies' networks."""

import pytest

from core.client import client_address, client_hash
from tests.conftest import run_manage


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8", "fd00::/8"]


def test_forwarded_for_is_ignored_from_a_direct_client(rf, behind_proxy):
    request = rf.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert client_address(request) == "203.0.113.9"


def test_forwarded_for_is_read_from_a_trusted_proxy(rf, behind_proxy):
    request = rf.get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9, 10.0.0.7"
    )

    assert client_address(request) == "203.0.113.9"


def test_forwarded_for_with_garbage_falls_back_to_the_proxy(rf, behind_proxy):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, not-an-ip")

    assert client_address(request) == "10.0.0.2"


def test_without_trusted_networks_every_header_is_ignored(rf, settings):
    settings.TRUSTED_PROXY_NETWORKS = []
    one = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1")
    two = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.2")

    assert client_address(one) == "10.0.0.2"
    assert client_hash(one) == client_hash(two)


def test_a_network_that_is_not_one_stops_start_up(tmp_path):
    result = run_manage(
        "check",
        env={"PILOTOPS_VAR_DIR": str(tmp_path), "TRUSTED_PROXY_NETWORKS": "10.0.0.0/8,proxy"},
    )

    assert result.returncode == 1
    assert "TRUSTED_PROXY_NETWORKS: 'proxy' is not a network" in result.stderr
