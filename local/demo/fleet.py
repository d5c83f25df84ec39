"""The scenario's fleet in the stand-in: EC2 instances (Linux, Windows, EC2 Mac) and hybrid nodes,
tagged as the window's target finds them, each with the Host local.agent_logs writes its output for.
"""

from __future__ import annotations

from collections.abc import Sequence

from local import agent_logs
from local.agent_logs import MACOS, WINDOWS, Host
from local.demo.scenario import PATCH_GROUP, Scenario
from local.fleet_sim import ACCOUNT
from local.stack import Clients
from local.standin import ssm as standin

LINUX_AMI = "ami-760aaa0f"
WINDOWS_AMI = "ami-12c6146b"
# An EC2 Mac instance as DescribeInstanceInformation shows it: the agent reads PlatformName and
# PlatformVersion from `sw_vers -productName` / `-productVersion` (amazon-ssm-agent, platform_darwin.go).
MACOS_PLATFORM = ("macOS", "14.6.1")


def create_fleet(scenario: Scenario, clients: Clients, account: str = ACCOUNT) -> list[Host]:
    """EC2 instances (Name and Patch Group tags) and hybrid nodes, in the scenario's order, in
    `account` (the one `clients` act in). A macOS group is EC2 Mac instances (mac1.metal on moto's
    image; moto keeps no dedicated hosts): the stand-in reports them as PlatformType MacOS, as SSM
    does from the agent (sw_vers)."""
    hosts: list[Host] = []
    for group in scenario.fleet:
        width = max(2, len(str(group.count)))
        names = [f"{group.name_prefix}-{n:0{width}d}" for n in range(1, group.count + 1)]
        if group.managed:
            ids = [
                register_node(
                    scenario,
                    name,
                    group.platform,
                    len(hosts) + n,
                    patch_group=group.patch_group,
                    account=account,
                )
                for n, name in enumerate(names)
            ]
        else:
            reservation = clients.ec2.run_instances(
                ImageId=WINDOWS_AMI if group.platform == WINDOWS else LINUX_AMI,
                MinCount=group.count,
                MaxCount=group.count,
                InstanceType="mac1.metal" if group.platform == MACOS else "t3.medium",
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [{"Key": "Patch Group", "Value": group.patch_group}]}
                ],
            )
            ids = [i["InstanceId"] for i in reservation["Instances"]]
            for instance_id, name in zip(ids, names, strict=True):
                clients.ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": name}])
                if group.platform == MACOS:
                    standin.set_instance_information(
                        account,
                        scenario.region,
                        instance_id,
                        platform_type="MacOS",
                        platform_name=MACOS_PLATFORM[0],
                        platform_version=MACOS_PLATFORM[1],
                    )
        for instance_id, name in zip(ids, names, strict=True):
            hosts.append(
                Host.of(
                    len(hosts), instance_id, name, group.platform, seed=scenario.seed, region=scenario.region
                )
            )
    return hosts


def register_node(
    scenario: Scenario,
    name: str,
    platform: str,
    index: int,
    *,
    patch_group: str,
    online: bool = True,
    account: str = ACCOUNT,
) -> str:
    node_id = "mi-" + f"{agent_logs.seeded(scenario.seed, 'node', index).getrandbits(68):017x}"[:17]
    windows = platform == WINDOWS
    return standin.register_managed_instance(
        account,
        scenario.region,
        node_id,
        name=name,
        platform_type="Windows" if windows else "Linux",
        platform_name="Microsoft Windows Server 2022 Datacenter" if windows else "Amazon Linux",
        platform_version="10.0.20348" if windows else "2",
        ip_address=f"192.168.{10 + index // 250}.{10 + index % 250}",
        ping_status="Online" if online else "ConnectionLost",
        tags={"Name": name, "Patch Group": patch_group},
    )


def window_targets(scenario: Scenario, hosts: Sequence[Host]) -> list[Host]:
    """The instances the window's target (tag Patch Group = PATCH_GROUP) resolves to."""
    groups = [group for group in scenario.fleet for _ in range(group.count)]
    return [host for host, group in zip(hosts, groups, strict=True) if group.patch_group == PATCH_GROUP]


__all__ = ["create_fleet", "register_node", "window_targets"]
