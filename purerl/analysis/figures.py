"""The report's figures, drawn with matplotlib's Agg canvas (no display needed): the aggregates'
intervals, the performance profiles, the probabilities of improvement and, per sweep, the final
return against each swept setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from purerl.analysis import stats
from purerl.analysis.load import Sweep
from purerl.analysis.scores import Estimates, Table


def _figure(ncols: int, nrows: int = 1, width: float = 4.0, height: float = 3.0):
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False).ravel()


def _color(i: int) -> str:
    return f"C{i % 10}"


def draw_aggregates(table: Table, est: Estimates, out: Path) -> Path:
    """One panel per aggregate: each label's interval as a bar, its point estimate as a tick."""
    points, intervals = est.aggregates
    fig, axes = _figure(len(stats.AGGREGATES), width=3.2, height=0.6 + 0.45 * len(table.labels))
    for j, (ax, name) in enumerate(zip(axes, stats.AGGREGATES)):
        for i, label in enumerate(table.labels):
            low, high = intervals[label][:, j]
            ax.barh(i, high - low, left=low, height=0.6, color=_color(i), alpha=0.6)
            ax.vlines(points[label][j], i - 0.3, i + 0.3, color="black")
        ax.set_yticks(range(len(table.labels)), table.labels if j == 0 else [""] * len(table.labels))
        ax.invert_yaxis()  # the first label on top, as in the tables
        ax.set_title(name)
        ax.set_xlabel("normalised score")
        ax.grid(axis="x", alpha=0.3)
    fig.savefig(out, dpi=100)
    return out


def draw_profiles(table: Table, est: Estimates, out: Path) -> Path:
    points, intervals = est.profiles
    fig, (ax,) = _figure(1, width=6.0, height=4.0)
    for i, label in enumerate(table.labels):
        ax.plot(est.taus, points[label], color=_color(i), label=label)
        ax.fill_between(est.taus, *intervals[label], color=_color(i), alpha=0.2, linewidth=0)
    ax.set_xlabel("normalised score tau")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.savefig(out, dpi=100)
    return out


def draw_improvement(est: Estimates, out: Path) -> Path:
    points, intervals = est.improvement
    pairs = list(points)
    fig, (ax,) = _figure(1, width=6.0, height=0.8 + 0.45 * len(pairs))
    for i, pair in enumerate(pairs):
        low, high = intervals[pair]
        ax.barh(i, high - low, left=low, height=0.6, color=_color(i), alpha=0.6)
        ax.vlines(points[pair], i - 0.3, i + 0.3, color="black")
    ax.set_yticks(range(len(pairs)), [f"P({x} > {y})" for x, y in pairs])
    ax.invert_yaxis()
    ax.axvline(0.5, color="gray", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability of improvement")
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(out, dpi=100)
    return out


def draw_sensitivity(sweep: Sweep, out: Path) -> Path:
    """Final return against each swept setting: mean and 95% bootstrap interval over seeds per point.
    Points of a grid that share the other settings' values are joined by a line."""
    means = sweep.returns.mean(axis=1)
    if sweep.returns.shape[1] >= 2:
        low, high = stats.mean_ci(sweep.returns)
    else:
        low = high = means
    fig, axes = _figure(len(sweep.settings), width=4.5, height=3.5)
    for ax, name in zip(axes, sweep.settings):
        x = sweep.values[name]
        others = [k for k in sweep.settings if k != name]
        groups: dict[tuple, list[int]] = {}
        for p in range(len(x)):
            groups.setdefault(tuple(sweep.values[k][p] for k in others), []).append(p)
        joined = all(len(members) > 1 for members in groups.values())
        for i, (key, members) in enumerate(groups.items()):
            members = sorted(members, key=lambda p: x[p])
            text = ", ".join(f"{k}={v:.3g}" for k, v in zip(others, key)) if joined and others else None
            ax.errorbar(x[members], means[members], yerr=[means[members] - low[members],
                                                          high[members] - means[members]],
                        fmt="o-" if joined else "o", color=_color(i) if joined else "C0", capsize=3,
                        markersize=4, label=text)
        ax.plot(x[sweep.best], means[sweep.best], marker="*", markersize=14, color="gold",
                markeredgecolor="black", linestyle="none", label="best point")
        if np.all(x > 0) and x.max() >= 10 * x.min():
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        if len(np.unique(x)) <= 8:  # a grid: its values as the ticks
            ax.set_xticks(np.unique(x), [f"{v:.3g}" for v in np.unique(x)], minor=False)
        ax.set_xlabel(name)
        ax.set_ylabel("final return")
        ax.grid(alpha=0.3)
        if len(groups) <= 8:
            ax.legend(fontsize="x-small")
    fig.suptitle(f"{sweep.label} on {sweep.env}: {sweep.returns.shape[1]} seeds per point")
    fig.savefig(out, dpi=100)
    return out
