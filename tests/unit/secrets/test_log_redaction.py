"""The functions' own log lines carry no secret: message, arguments and extras are redacted. Pure."""

from __future__ import annotations

import io
import json
import logging

from aws_lambda_powertools import Logger

from instance_hygiene.secrets.log_redaction import RedactingFilter, redact_log_records

# AWS's documented example key pair (IAM user guide, "Managing access keys").
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_given_a_powertools_logger_when_a_record_quotes_secrets_then_the_json_line_holds_none() -> None:
    # Given the functions' logger, writing JSON lines to a buffer, with redaction installed
    out = io.StringIO()
    logger = Logger(service="test-redaction", logger_handler=logging.StreamHandler(out))
    redact_log_records(logger)

    # When a line quotes a key in its arguments and a comment in its extras
    logger.info("reading %s failed", f"logs/cmd/i-1/token={ACCESS_KEY_ID}/stdout")
    logger.info("notified", extra={"subject": f"FAILED (aws_secret_access_key={SECRET_ACCESS_KEY})", "n": 3})

    # Then neither secret is in what was written, and the rest is
    written = out.getvalue()
    assert ACCESS_KEY_ID not in written
    assert SECRET_ACCESS_KEY not in written
    lines = [json.loads(line) for line in written.splitlines()]
    assert lines[0]["message"].startswith("reading logs/cmd/i-1/token=[REDACTED]")
    assert lines[1]["subject"].startswith("FAILED (aws_secret_access_key=[REDACTED]")
    assert lines[1]["n"] == 3


def test_given_a_module_logger_when_its_record_reaches_a_redacting_handler_then_it_is_redacted() -> None:
    # Given a plain handler with the filter (as the root logger's handler gets it in Lambda)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    module_logger = logging.getLogger("instance_hygiene.test_log_redaction")
    module_logger.addHandler(handler)
    module_logger.propagate = False
    try:
        # When a package module logs an error that names a secret
        module_logger.warning("listing failed: %s", "https://u:S3cr3t-Pa55@example.com")
    finally:
        module_logger.removeHandler(handler)

    # Then the secret is gone and the line is otherwise kept
    assert out.getvalue() == "listing failed: https://u:[REDACTED]@example.com\n"


def test_given_redaction_installed_twice_when_logging_then_one_filter_per_handler() -> None:
    logger = Logger(service="test-redaction-twice", logger_handler=logging.StreamHandler(io.StringIO()))

    redact_log_records(logger)
    redact_log_records(logger)

    assert sum(isinstance(f, RedactingFilter) for f in logger.handlers[0].filters) == 1
