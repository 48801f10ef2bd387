"""The report's tables: `rows` gives every table as rows of text cells, `markdown_table` and
`latex_table` (booktabs, to `\\input`) write one out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from purerl.analysis import stats
from purerl.analysis.load import Sweep
from purerl.analysis.scores import PROFILE_TABLE_TAUS, Estimates, Table, normalize


def _interval(point, low, high, digits: int = 3) -> str:
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _return_text(values: np.ndarray) -> str:
    digits = 3 if np.abs(values).max() <= 1.5 else 1
    if len(values) < 2:
        return f"{values.mean():.{digits}f}"
    low, high = stats.mean_ci(values)
    return _interval(values.mean(), low, high, digits)


def rows(table: Table, scores: dict, est: Estimates, sweeps: Sequence[Sweep]) -> dict[str, list[list[str]]]:
    """The report's tables as rows of text cells (the first row is the header)."""
    out = {"scores": [["env", "random", "reference", "random from", "reference from"]]}
    for t in table.tasks:
        s = scores[t]
        out["scores"].append([t, f"{s['random']:.4g}", f"{s['reference']:.4g}", s["sources"]["random"],
                              s["sources"]["reference"]])
    out["tasks"] = [["env", "label", "runs", "final return (mean [95% CI])", "normalised (mean [95% CI])"]]
    for t in table.tasks:
        for label in table.labels:
            if (label, t) in table.returns:
                r = table.returns[label, t]
                normalized = normalize(r, scores[t]["random"], scores[t]["reference"])
                out["tasks"].append([t, label, str(len(r)), _return_text(r), _return_text(normalized)])
    points, intervals = est.aggregates
    out["aggregates"] = [["label", "runs x tasks", *stats.AGGREGATES]]
    for label in table.labels:
        n, m = table.normalized[label].shape
        cells = [_interval(p, lo, hi) for p, lo, hi in zip(points[label], *intervals[label])]
        out["aggregates"].append([label, f"{n} x {m}", *cells])
    points, intervals = est.profiles
    columns = [int(np.searchsorted(est.taus, tau)) for tau in PROFILE_TABLE_TAUS]
    out["profiles"] = [["label", *(f"tau = {tau:g}" for tau in PROFILE_TABLE_TAUS)]]
    for label in table.labels:
        out["profiles"].append([label, *(_interval(points[label][i], *intervals[label][:, i], digits=2)
                                         for i in columns)])
    points, intervals = est.improvement
    out["improvement"] = [["X", "Y", "P(X > Y) [95% CI]"]]
    for (x, y), p in points.items():
        out["improvement"].append([x, y, _interval(p, *intervals[x, y])])
    out["sweeps"] = [["sweep", "env", "points x seeds", "best point", "final return of the best point"]]
    for sw in sweeps:
        chosen = ", ".join(f"{k}={sw.values[k][sw.best]:.3g}" for k in sw.settings)
        size = "{} x {}".format(*sw.returns.shape)
        best = _return_text(sw.returns[sw.best])
        out["sweeps"].append([f"{sw.label} ({sw.path})", sw.env, size, chosen, best])
    return out


def markdown_table(cells: list[list[str]]) -> str:
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def latex_escape(text: str) -> str:
    special = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
               "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(special.get(c, c) for c in text)


def latex_table(cells: list[list[str]], caption: str) -> str:
    header, *body = cells
    lines = [r"\begin{table}[ht]", r"\centering\small", r"\begin{tabular}{" + "l" * len(header) + "}",
             r"\toprule", " & ".join(latex_escape(c) for c in header) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in body]
    lines += [r"\bottomrule", r"\end{tabular}", r"\caption{" + latex_escape(caption) + "}", r"\end{table}"]
    return "\n".join(lines)
