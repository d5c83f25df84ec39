"""Custom resource: publish the healthcheck scripts packaged with this function to the log bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from instance_hygiene import custom_resource
from instance_hygiene.scripts_publisher import Action, publish_scripts

logger = Logger()

SCRIPTS_DIR = Path(__file__).parent / "scripts"


def _publish(request: custom_resource.Request) -> custom_resource.Outcome:
    bucket = str(request.properties["Bucket"])
    prefix = str(request.properties["Prefix"])
    physical_id = f"s3://{bucket}/{prefix}"
    if request.request_type == "Delete":
        # The bucket is retained with the stack's logs; the scripts stay beside them.
        return custom_resource.Outcome(physical_resource_id=physical_id)
    decisions = publish_scripts(boto3.client("s3"), bucket=bucket, prefix=prefix, folder=SCRIPTS_DIR)
    kept = [d.key for d in decisions if d.action is Action.KEPT_OPERATOR_COPY]
    if kept:
        logger.warning("kept operator-replaced scripts", extra={"keys": kept})
    return custom_resource.Outcome(
        physical_resource_id=physical_id,
        data={d.script.name: d.action.value for d in decisions},
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    custom_resource.run(event, _publish, log_stream=context.log_stream_name)
