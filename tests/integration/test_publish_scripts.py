"""The publish-scripts custom resource against moto S3, answering a real HTTP ResponseURL."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from instance_hygiene.deploy.scripts_publisher import SHA_METADATA_KEY
from local.lambda_env import SCRIPTS_FUNCTION, LambdaContext, load_function
from local.template import Deployment

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "hygiene-logs"
LINUX_SHA = hashlib.sha256((ROOT / "documents/scripts/healthcheck.sh").read_bytes()).hexdigest()
WINDOWS_SHA = hashlib.sha256((ROOT / "documents/scripts/healthcheck.ps1").read_bytes()).hexdigest()
OPERATOR_SCRIPT = b"#!/bin/bash\necho ours\n"
OPERATOR_SHA = hashlib.sha256(OPERATOR_SCRIPT).hexdigest()


class _Capture(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        _Capture.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def response_url() -> Iterator[str]:
    _Capture.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response"
    server.shutdown()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield client


def _context() -> LambdaContext:
    return LambdaContext.of(SCRIPTS_FUNCTION, Deployment())


def _event(request_type: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-2:123456789012:stack/hygiene/1",
        "RequestId": "r-1",
        "LogicalResourceId": "HealthcheckScripts",
        "ResourceType": "Custom::HealthcheckScripts",
        "ResourceProperties": {
            "ServiceToken": "arn",
            "Bucket": BUCKET,
            "Prefix": "scripts/",
            "OtherPrefixes": ["ssm_output/", "reports/"],
            "LinuxScriptSha256": "",
            "WindowsScriptSha256": "",
            "Revision": "3",
        },
        **extra,
    }


def test_create_publishes_the_packaged_scripts(s3: Any, response_url: str) -> None:
    app = load_function(SCRIPTS_FUNCTION)

    app.handler(_event("Create", response_url), _context())

    (body,) = _Capture.bodies
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == f"s3://{BUCKET}/scripts/"
    assert body["Data"] == {
        "LinuxSha256": LINUX_SHA,
        "WindowsSha256": WINDOWS_SHA,
        "LinuxAction": "put",
        "WindowsAction": "put",
    }
    stored = s3.get_object(Bucket=BUCKET, Key="scripts/healthcheck.sh")
    assert stored["Body"].read() == (ROOT / "documents/scripts/healthcheck.sh").read_bytes()
    assert stored["Metadata"][SHA_METADATA_KEY] == LINUX_SHA


def update(app: Any, url: str, **properties: str) -> dict[str, Any]:
    event = _event("Update", url, PhysicalResourceId=f"s3://{BUCKET}/scripts/")
    event["ResourceProperties"].update(properties)
    app.handler(event, _context())
    return _Capture.bodies[-1]


def test_an_update_with_nothing_declared_replaces_unknown_content_and_says_so(
    s3: Any, response_url: str
) -> None:
    app = load_function(SCRIPTS_FUNCTION)
    app.handler(_event("Create", response_url), _context())
    # Whoever can write the object can also write our metadata: it proves nothing.
    s3.put_object(
        Bucket=BUCKET,
        Key="scripts/healthcheck.sh",
        Body=OPERATOR_SCRIPT,
        Metadata={SHA_METADATA_KEY: LINUX_SHA},
    )

    body = update(app, response_url)

    assert body["Status"] == "SUCCESS"
    assert (body["Data"]["LinuxAction"], body["Data"]["WindowsAction"]) == (
        "replaced-unknown-content",
        "unchanged",
    )
    assert body["Data"]["LinuxSha256"] == LINUX_SHA
    stored = s3.get_object(Bucket=BUCKET, Key="scripts/healthcheck.sh")["Body"].read()
    assert stored == (ROOT / "documents/scripts/healthcheck.sh").read_bytes()


def test_a_declared_script_is_kept_and_its_hash_is_the_effective_one(s3: Any, response_url: str) -> None:
    app = load_function(SCRIPTS_FUNCTION)
    app.handler(_event("Create", response_url), _context())
    s3.put_object(Bucket=BUCKET, Key="scripts/healthcheck.sh", Body=OPERATOR_SCRIPT)

    body = update(app, response_url, LinuxScriptSha256=OPERATOR_SHA)

    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {
        "LinuxSha256": OPERATOR_SHA,
        "WindowsSha256": WINDOWS_SHA,
        "LinuxAction": "operator-script",
        "WindowsAction": "unchanged",
    }
    assert s3.get_object(Bucket=BUCKET, Key="scripts/healthcheck.sh")["Body"].read() == OPERATOR_SCRIPT


def test_a_declared_hash_the_object_lacks_fails_the_deploy_and_writes_nothing(
    s3: Any, response_url: str
) -> None:
    app = load_function(SCRIPTS_FUNCTION)
    app.handler(_event("Create", response_url), _context())
    versions = len(s3.list_object_versions(Bucket=BUCKET, Prefix="scripts/").get("Versions", []))

    body = update(app, response_url, LinuxScriptSha256=OPERATOR_SHA)

    assert body["Status"] == "FAILED"
    assert "scripts/healthcheck.sh" in body["Reason"]
    assert OPERATOR_SHA in body["Reason"]
    assert LINUX_SHA in body["Reason"]
    assert len(s3.list_object_versions(Bucket=BUCKET, Prefix="scripts/").get("Versions", [])) == versions


@pytest.mark.parametrize(
    "others", [["scripts/logs/", "reports/"], ["ssm_output/", "scripts/"], ["", "reports/"]]
)
def test_a_scripts_prefix_that_overlaps_another_fails_before_anything_is_written(
    s3: Any, response_url: str, others: list[str]
) -> None:
    app = load_function(SCRIPTS_FUNCTION)
    event = _event("Create", response_url)
    event["ResourceProperties"]["OtherPrefixes"] = others

    app.handler(event, _context())

    (body,) = _Capture.bodies
    assert body["Status"] == "FAILED"
    assert "ScriptsPrefix 'scripts/' overlaps" in body["Reason"]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="scripts/")["KeyCount"] == 0


def test_delete_leaves_the_scripts_and_succeeds(s3: Any, response_url: str) -> None:
    app = load_function(SCRIPTS_FUNCTION)
    app.handler(_event("Create", response_url), _context())

    app.handler(_event("Delete", response_url, PhysicalResourceId=f"s3://{BUCKET}/scripts/"), _context())

    assert _Capture.bodies[-1]["Status"] == "SUCCESS"
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="scripts/")["KeyCount"] == 2


def test_an_s3_failure_is_reported_to_cloudformation_not_left_hanging(s3: Any, response_url: str) -> None:
    app = load_function(SCRIPTS_FUNCTION)
    event = _event("Create", response_url)
    event["ResourceProperties"]["Bucket"] = "no-such-bucket"

    app.handler(event, _context())

    (body,) = _Capture.bodies
    assert body["Status"] == "FAILED"
    assert "NoSuchBucket" in body["Reason"]
    assert _context().log_stream_name in body["Reason"]
