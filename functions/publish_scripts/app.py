"""Custom resource: publish the healthcheck scripts packaged with this function to the log bucket.

Its Data gives the SHA-256 each platform's script must have (`LinuxSha256`, `WindowsSha256`), which
the template passes to the healthcheck task; `LinuxAction` and `WindowsAction` say what was done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from instance_hygiene.aws.clients import deploy_s3
from instance_hygiene.deploy import custom_resource
from instance_hygiene.deploy.scripts_publisher import (
    Action,
    effective_hashes,
    overlapping_prefixes,
    publish_scripts,
)

logger = Logger()

SCRIPTS_DIR = Path(__file__).parent / "scripts"
DECLARED_PROPERTIES = {"Linux": "LinuxScriptSha256", "Windows": "WindowsScriptSha256"}
"""Resource property -> platform: the operator's declared hash, empty for our packaged script."""


def _publish(request: custom_resource.Request) -> custom_resource.ResourceOutcome:
    bucket = str(request.properties["Bucket"])
    prefix = str(request.properties["Prefix"])
    physical_id = f"s3://{bucket}/{prefix}"
    if request.request_type == "Delete":
        # The bucket is retained with the stack's logs; the scripts stay beside them.
        return custom_resource.ResourceOutcome(physical_resource_id=physical_id)
    nested = overlapping_prefixes(prefix, [str(p) for p in request.properties.get("OtherPrefixes", [])])
    if nested:
        raise ValueError(
            f"ScriptsPrefix {prefix!r} overlaps {', '.join(map(repr, nested))} (LogPrefix or ReportsPrefix): "
            "the logs' expiry would delete the scripts; choose prefixes that do not contain one another"
        )
    declared = {
        platform: str(request.properties.get(name, "")) for platform, name in DECLARED_PROPERTIES.items()
    }
    decisions = publish_scripts(
        deploy_s3(), bucket=bucket, prefix=prefix, folder=SCRIPTS_DIR, declared=declared
    )
    replaced = [d.key for d in decisions if d.action is Action.REPLACED_UNKNOWN_CONTENT]
    if replaced:
        logger.warning("replaced unknown content with the packaged scripts", extra={"keys": replaced})
    actions = {f"{d.script.platform}Action": d.action.value for d in decisions}
    return custom_resource.ResourceOutcome(
        physical_resource_id=physical_id, data={**effective_hashes(decisions), **actions}
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    custom_resource.run(event, _publish, log_stream=context.log_stream_name)
