"""The report's plots (docs/bench/*.png), from one run's results."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import coldstart
from bench.results import Results
from bench.stack import FUNCTION_MEMORY_MB, FUNCTION_TIMEOUT_SECONDS
from bench.targets import IMPORT_RATIO_TARGET, modelled


def plot_logs(results: Results, path: Path) -> None:
    sizes = [p.size for p in results.logs]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.plot(sizes, [p.stock.wall for p in results.logs], "o-", label="handler, stock moto")
    ax.plot(sizes, [p.faithful.wall for p in results.logs], "o-", label="handler, faithful ranges")
    http = [(p.size, p.http.get("product", {}).get("wall")) for p in results.logs]
    ax.plot([s for s, w in http if w], [w for _, w in http if w], "o--", label="handler over HTTP")
    ax.plot(sizes, [modelled(p.faithful) for p in results.logs], "s:", label="modelled on AWS")
    naive = [(p.size, p.naive.wall) for p in results.logs if p.naive.walls]
    ax.plot([s for s, _ in naive], [w for _, w in naive], "x-", label="naive Lambda")
    ax.set(xscale="log", yscale="log", xlabel="failing stdout (bytes)", ylabel="seconds", title="Time")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(sizes, [p.faithful.get_bytes for p in results.logs], "o-", label="this product")
    ax.plot(
        [s for s, _ in naive], [p.naive.get_bytes for p in results.logs if p.naive.walls], "x-", label="naive"
    )
    ax.plot(sizes, sizes, ":", color="grey", label="log size")
    ax.set(
        xscale="log", yscale="log", xlabel="failing stdout (bytes)", ylabel="bytes read", title="Bytes read"
    )
    ax.legend(fontsize=7)
    ax = axes[2]
    for variant, marker in (("product", "o-"), ("naive", "x-")):
        pts = [(p.size, p.http.get(variant, {}).get("tracemalloc_peak")) for p in results.logs]
        pts = [(s, v / 1024 / 1024) for s, v in pts if v]
        ax.plot([s for s, _ in pts], [v for _, v in pts], marker, label=f"{variant}: tracemalloc peak")
    ax.axhline(30, color="red", linestyle=":", label="30 MiB target")
    ax.axhline(FUNCTION_MEMORY_MB, color="grey", linestyle="--", label=f"{FUNCTION_MEMORY_MB} MB function")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="failing stdout (bytes)",
        ylabel="MiB",
        title="Memory (own process)",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_fleet(results: Results, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for fraction, color in zip(sorted({p.fraction for p in results.fleet}), ("C0", "C1", "C2"), strict=False):
        points = sorted((p for p in results.fleet if p.fraction == fraction), key=lambda p: p.instances)
        naive = [p for p in points if p.naive.walls]
        xs = [p.instances for p in points]
        label = f"{fraction:.0%} fail"
        axes[0].plot(xs, [p.product.wall for p in points], "o-", color=color, label=f"product, {label}")
        axes[0].plot(
            [p.instances for p in naive],
            [p.naive.wall for p in naive],
            "x--",
            color=color,
            label=f"naive, {label}",
        )
        axes[1].plot(xs, [modelled(p.product) for p in points], "o-", color=color, label=f"product, {label}")
        axes[1].plot(
            [p.instances for p in naive],
            [modelled(p.naive, p.failed) for p in naive],
            "x--",
            color=color,
            label=f"naive, {label}",
        )
        axes[2].plot(
            [p.failed for p in points],
            [sum(p.product.operations.values()) / p.failed for p in points],
            "o-",
            color=color,
            label=f"product, {label}",
        )
        axes[2].plot(
            [p.failed for p in naive],
            [sum(p.naive.operations.values()) / p.failed for p in naive],
            "x--",
            color=color,
            label=f"naive, {label}",
        )
    axes[1].axhline(FUNCTION_TIMEOUT_SECONDS, color="red", linestyle=":", label="timeout")
    axes[0].set(xscale="log", yscale="log", xlabel="instances", ylabel="seconds", title="Handler time here")
    axes[1].set(
        xscale="log", yscale="log", xlabel="instances", ylabel="seconds", title="Modelled on AWS (512 MB)"
    )
    axes[2].set(
        xscale="log", xlabel="failed instances", ylabel="API calls per failed instance", title="Calls"
    )
    for ax in axes:
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_cold(results: Results, path: Path) -> None:
    cold = results.cold
    if cold is None:
        return
    targets = list(cold.seconds)
    labels = [t if len(t) <= 48 else t[:45] + "..." for t in targets]
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(targets) + 1.2))
    ax.barh(labels, [cold.median(t) * 1000 for t in targets], color=["grey"] + ["C0"] * (len(targets) - 1))
    boto3_ms = cold.median(coldstart.BOTO3) * 1000
    ax.axvline(boto3_ms * 1.5, color="red", linestyle=":", label="1.5x import boto3 (issue 5)")
    ax.axvline(
        boto3_ms * IMPORT_RATIO_TARGET,
        color="orange",
        linestyle="--",
        label=f"{IMPORT_RATIO_TARGET}x import boto3 (issue 11)",
    )
    ax.set(xlabel="median import time (ms)", title="Cold start imports")
    ax.invert_yaxis()
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
