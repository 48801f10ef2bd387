"""Learning curves from results dirs: `purerl plot DIR... [--out FILE.png] [--title TEXT]`.

Each results dir (as `purerl train` writes it) becomes one line: the mean evaluation return
across seeds against env steps per seed, shaded with a 95% bootstrap interval of that mean
(`stats.mean_ci`). Figures are drawn with matplotlib's Agg canvas, so no display is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np


class Curve(NamedTuple):
    label: str  # algo / env, from summary.json (else the dir name)
    env_steps: np.ndarray  # [evals] env steps per seed at each evaluation
    returns: np.ndarray  # [seeds, evals] evaluation returns


def load(path: str | Path) -> Curve:
    """Reads one results dir (through `purerl.io.records`): its evaluation returns and a label.

    A sweep's dir (`purerl sweep`) gives the curve of its best point.
    """
    from purerl.io import records

    path = Path(path)
    info = records.read_summary(path) if path.is_dir() else None
    label = path.name if info is None else f"{info['algo']} / {info['env']}"
    point = None
    if (path / records.SWEEP).is_file():
        if info is None:
            raise ValueError(f"{path} is a sweep without its summary.json: no best point to draw")
        best = info["best"]
        point = best["point"]
        swept = [name for name in info["points"][0] if name not in ("point", "final_return", "diverged")]
        values = ", ".join(f"{k}={best['hyperparams'][k]:.3g}" for k in swept)
        label += f", best of {len(info['points'])} points ({values})"
    curves = records.read_metrics(path, point)
    return Curve(label, curves.env_steps, curves.metrics["eval_return"])


def draw(ax, curves: Sequence[Curve], *, logx: bool = False) -> None:
    """Draws each curve's mean return with its shaded 95% bootstrap interval on `ax`."""
    from purerl.analysis import stats  # scipy: imported when drawing, not by every `purerl` command

    for curve in curves:
        mean = curve.returns.mean(axis=0)
        (line,) = ax.plot(curve.env_steps, mean, label=f"{curve.label} ({len(curve.returns)} seeds)")
        if len(curve.returns) >= 2:
            low, high = stats.mean_ci(curve.returns.T)
            ax.fill_between(curve.env_steps, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("env steps per seed")
    ax.set_ylabel("evaluation return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def save_panels(panels: Sequence[tuple[str | None, Sequence[Curve], bool]], out: str | Path, *,
                ncols: int = 2, title: str | None = None) -> Path:
    """Writes one figure with a panel per (title, curves, logx) entry; the format follows `out`'s suffix."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(6 * ncols, 4 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (panel_title, curves, logx) in zip(axes, panels):
        draw(ax, curves, logx=logx)
        if panel_title:
            ax.set_title(panel_title)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    return out


def plot(dirs: Sequence[str | Path], out: str | Path, *, title: str | None = None,
         logx: bool = False) -> Path:
    """One panel, one line per results dir. Raises ValueError on a dir that is not a results dir."""
    curves = [load(d) for d in dirs]
    labels = [c.label for c in curves]
    if len(set(labels)) < len(labels):  # the same algo and env twice: tell the dirs apart
        curves = [c._replace(label=f"{c.label} [{Path(d).name}]") for c, d in zip(curves, dirs)]
    return save_panels([(None, curves, logx)], out, ncols=1, title=title)


def add_parser(subparsers) -> None:
    """Registers `purerl plot` on the CLI's subparsers."""
    p = subparsers.add_parser("plot", help="draw learning curves (mean, 95%% bootstrap CI) from results dirs")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="results dirs (a sweep: its best point)")
    p.add_argument("--out", default="curves.png", help="image file (default curves.png; .svg, .pdf work too)")
    p.add_argument("--title", help="figure title")
    p.add_argument("--logx", action="store_true", help="log-scale env steps")
    p.set_defaults(func=cmd_plot)


def cmd_plot(args, argv) -> int:
    out = plot(args.dirs, args.out, title=args.title, logx=args.logx)
    print(f"plotted {len(args.dirs)} results dir(s) to {out}")
    return 0
