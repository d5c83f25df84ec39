"""The guard of tests/unit/conftest.py: a unit test cannot open a socket or look a name up."""

from __future__ import annotations

import socket
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import HTTPClientError
from pytest_socket import SocketBlockedError

# The plugin also warns each time it refuses; here the refusal is the point.
pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")


@pytest.mark.parametrize(
    "family", [socket.AF_INET, socket.AF_INET6, socket.AF_UNIX], ids=["ipv4", "ipv6", "unix"]
)
def test_given_a_unit_test_when_it_creates_a_socket_then_it_is_refused(family: socket.AddressFamily) -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(family, socket.SOCK_STREAM)


def test_given_a_unit_test_when_it_connects_to_localhost_then_it_is_refused() -> None:
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_given_a_unit_test_when_it_looks_a_name_up_then_it_is_refused() -> None:
    with pytest.raises(SocketBlockedError):
        socket.getaddrinfo("example.com", 443)


def test_given_a_unit_test_when_it_fetches_a_url_then_no_request_leaves() -> None:
    with pytest.raises(SocketBlockedError):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)


def test_given_a_real_boto3_client_in_a_unit_test_when_it_calls_aws_then_no_request_leaves() -> None:
    client = boto3.client(
        "ssm",
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )

    with pytest.raises(HTTPClientError, match="A test tried to use socket"):
        client.list_commands()
