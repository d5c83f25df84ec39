"""Stand-ins: extensions of the moto AWS emulator where moto lacks an API or serves it unlike AWS.

Each module patches moto's own response classes in place and keeps any extra state next to
moto's backend for the same account and region, so that it works in-process under
``moto.mock_aws()`` and through ``moto.server.ThreadedMotoServer`` in the same process:
``ssm`` (the Run Command and maintenance-window reads moto lacks), ``s3`` (ranged GETs read as S3
reads them, from the range's bytes alone), ``organizations`` (DescribeOrganization from moto's
organization state, for members too), ``iam`` (policy enforcement, switched on by
``iam.enforced()``) and ``sts`` (role trust on AssumeRole, switched on by ``sts.trust_enforced()``).
``install()`` puts in ``ssm``, ``s3`` and ``organizations``; ``reset()`` forgets what ``ssm``
recorded.
"""

from __future__ import annotations

from local.standin import organizations, s3, ssm

__all__ = ["install", "installed", "reset", "uninstall"]


def install() -> None:
    """Patch moto with the SSM, S3 and Organizations extensions. Idempotent; affects the whole process."""
    ssm.install()
    s3.install()
    organizations.install()


def installed() -> bool:
    return ssm.installed() and s3.installed() and organizations.installed()


def uninstall() -> None:
    """Give moto its own methods back (what ssm recorded stays until reset)."""
    organizations.uninstall()
    s3.uninstall()
    ssm.uninstall()


def reset() -> None:
    """Forget everything the stand-in recorded, in every account and region."""
    ssm.reset()
