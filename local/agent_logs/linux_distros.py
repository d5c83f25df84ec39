"""The Linux distributions a generated host runs (Amazon Linux 2 and 2023, Ubuntu 22.04): the
package manager, the binaries and Python the patch run finds, and the packages it can update."""

from __future__ import annotations

from dataclasses import dataclass

from local.agent_logs.common import Host


@dataclass(frozen=True)
class Package:
    name: str
    old: str
    new: str
    epoch: str = "0"
    arch: str = "x86_64"


@dataclass(frozen=True)
class Distro:
    key: str
    product: str
    os_line: str
    manager: str
    binaries: tuple[str, ...]
    python: str
    packages: tuple[Package, ...]
    ssm_unit: str


AL2_PACKAGES = (
    Package("curl", "8.3.0-1.amzn2.0.4", "8.3.0-1.amzn2.0.5"),
    Package("libcurl", "8.3.0-1.amzn2.0.4", "8.3.0-1.amzn2.0.5"),
    Package("openssh", "7.4p1-22.amzn2.0.5", "7.4p1-22.amzn2.0.6"),
    Package("openssh-server", "7.4p1-22.amzn2.0.5", "7.4p1-22.amzn2.0.6"),
    Package("openssh-clients", "7.4p1-22.amzn2.0.5", "7.4p1-22.amzn2.0.6"),
    Package("openssl-libs", "1.0.2k-24.amzn2.0.11", "1.0.2k-24.amzn2.0.12", epoch="1"),
    Package("glibc", "2.26-64.amzn2.0.1", "2.26-64.amzn2.0.2"),
    Package("glibc-common", "2.26-64.amzn2.0.1", "2.26-64.amzn2.0.2"),
    Package("python", "2.7.18-1.amzn2.0.8", "2.7.18-1.amzn2.0.9"),
    Package("python-libs", "2.7.18-1.amzn2.0.8", "2.7.18-1.amzn2.0.9"),
    Package("sudo", "1.8.23-10.amzn2.3.2", "1.8.23-10.amzn2.3.3"),
    Package("systemd", "219-78.amzn2.0.21", "219-78.amzn2.0.22"),
    Package("systemd-libs", "219-78.amzn2.0.21", "219-78.amzn2.0.22"),
    Package("vim-minimal", "9.0.2120-1.amzn2.0.1", "9.0.2153-1.amzn2.0.1", epoch="2"),
    Package("tzdata", "2024a-1.amzn2", "2024b-1.amzn2", arch="noarch"),
    Package("ca-certificates", "2023.2.62-1.amzn2.0.1", "2023.2.64-1.amzn2.0.1", arch="noarch"),
    Package("expat", "2.1.0-15.amzn2.0.2", "2.1.0-15.amzn2.0.3"),
    Package("libxml2", "2.9.1-6.amzn2.5.12", "2.9.1-6.amzn2.5.13"),
    Package("nss", "3.90.0-2.amzn2.0.1", "3.90.0-2.amzn2.0.2"),
    Package("krb5-libs", "1.15.1-55.amzn2.2.7", "1.15.1-55.amzn2.2.8"),
    Package("amazon-ssm-agent", "3.3.380.0-1.amzn2", "3.3.987.0-1.amzn2"),
    Package("bind-libs", "9.11.4-26.P2.amzn2.13.4", "9.11.4-26.P2.amzn2.13.5", epoch="32"),
    Package("git", "2.40.1-1.amzn2.0.1", "2.40.1-1.amzn2.0.3"),
    Package("libssh2", "1.4.3-12.amzn2.2.4", "1.4.3-12.amzn2.2.5"),
    Package("zlib", "1.2.7-19.amzn2.0.2", "1.2.7-19.amzn2.0.3"),
)
_AL2023_PACKAGES = (
    Package("curl-minimal", "8.5.0-1.amzn2023.0.2", "8.5.0-1.amzn2023.0.4"),
    Package("libcurl-minimal", "8.5.0-1.amzn2023.0.2", "8.5.0-1.amzn2023.0.4"),
    Package("openssl-libs", "3.0.8-1.amzn2023.0.11", "3.0.8-1.amzn2023.0.12", epoch="1"),
    Package("glibc", "2.34-52.amzn2023.0.8", "2.34-52.amzn2023.0.10"),
    Package("glibc-common", "2.34-52.amzn2023.0.8", "2.34-52.amzn2023.0.10"),
    Package("python3", "3.9.16-1.amzn2023.0.6", "3.9.16-1.amzn2023.0.8"),
    Package("python3-libs", "3.9.16-1.amzn2023.0.6", "3.9.16-1.amzn2023.0.8"),
    Package("systemd", "252.16-1.amzn2023.0.1", "252.16-1.amzn2023.0.2"),
    Package("sudo", "1.9.15-1.p5.amzn2023.0.1", "1.9.15-1.p5.amzn2023.0.2"),
    Package("amazon-ssm-agent", "3.3.380.0-1.amzn2023", "3.3.987.0-1.amzn2023"),
    Package("kernel6.1", "6.1.91-99.172.amzn2023", "6.1.92-99.174.amzn2023"),
    Package("vim-minimal", "9.0.2153-1.amzn2023.0.1", "9.1.083-1.amzn2023.0.1", epoch="2"),
)
_UBUNTU_PACKAGES = (
    Package("libssl3", "3.0.2-0ubuntu1.14", "3.0.2-0ubuntu1.15", arch="amd64"),
    Package("openssl", "3.0.2-0ubuntu1.14", "3.0.2-0ubuntu1.15", arch="amd64"),
    Package("libc6", "2.35-0ubuntu3.6", "2.35-0ubuntu3.7", arch="amd64"),
    Package("libc-bin", "2.35-0ubuntu3.6", "2.35-0ubuntu3.7", arch="amd64"),
    Package("curl", "7.81.0-1ubuntu1.15", "7.81.0-1ubuntu1.16", arch="amd64"),
    Package("libcurl4", "7.81.0-1ubuntu1.15", "7.81.0-1ubuntu1.16", arch="amd64"),
    Package("sudo", "1.9.9-1ubuntu2.3", "1.9.9-1ubuntu2.4", arch="amd64"),
    Package("systemd", "249.11-0ubuntu3.11", "249.11-0ubuntu3.12", arch="amd64"),
    Package("libsystemd0", "249.11-0ubuntu3.11", "249.11-0ubuntu3.12", arch="amd64"),
    Package("tzdata", "2024a-0ubuntu0.22.04", "2024a-0ubuntu0.22.04.1", arch="all"),
    Package("openssh-server", "1:8.9p1-3ubuntu0.7", "1:8.9p1-3ubuntu0.10", arch="amd64"),
)

DISTROS = {
    "amazon-linux-2": Distro(
        "amazon-linux-2",
        "AmazonLinux2",
        "amazon_linux 2",
        "yum",
        ("/usr/bin/python3", "/usr/bin/yum"),
        "3.7.16",
        AL2_PACKAGES,
        "amazon-ssm-agent",
    ),
    "amazon-linux-2023": Distro(
        "amazon-linux-2023",
        "AmazonLinux2023",
        "amazon_linux 2023",
        "dnf",
        ("/usr/bin/python3", "/usr/bin/dnf"),
        "3.9.16",
        _AL2023_PACKAGES,
        "amazon-ssm-agent",
    ),
    "ubuntu-22.04": Distro(
        "ubuntu-22.04",
        "Ubuntu",
        "ubuntu 22.04",
        "apt",
        ("/usr/bin/python3", "/usr/bin/apt-get", "/usr/bin/dpkg"),
        "3.10.12",
        _UBUNTU_PACKAGES,
        "snap.amazon-ssm-agent.amazon-ssm-agent",
    ),
}


def distro_of(host: Host) -> Distro:
    """The Linux distribution of a host whose outcome does not force one: mostly Amazon Linux 2."""
    return DISTROS[
        ("amazon-linux-2", "amazon-linux-2", "amazon-linux-2023", "amazon-linux-2", "ubuntu-22.04")[
            host.index % 5
        ]
    ]
