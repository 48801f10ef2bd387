"""Reports across tasks: `purerl report DIR[:LABEL]... [--out OUT] [--scores FILE.json]`.

Reads results dirs (`purerl train` or `purerl sweep`; a sweep counts with its best point's runs: those
retrained on fresh seeds with `--eval-seeds`, else its tuning seeds'; `purerl.analysis.load`),
groups their final returns by label (the algorithm, or the LABEL after the dir) and task (the env),
and writes OUT/report.md, OUT/report.tex (booktabs tables to `\\input`; `purerl.analysis.tables`),
OUT/scores.json (the scores used, to pass back with --scores) and PNG figures
(`purerl.analysis.figures`), following Agarwal et al. (2021), "Deep RL at the edge of the statistical
precipice" (`purerl.analysis.scores`):

- per task, every run's final return normalised as `(return - random) / (reference - random)`, where
  `random` is a uniformly random policy's return under the runs' own evaluation protocol
  (`random_return`: measured once per env and protocol) and `reference` comes from
  reference_scores.json (each env's score and its source); `--scores` overrides either, per env;
- across the tasks every label has: IQM, mean, median and optimality gap of the normalised scores,
  each with a stratified bootstrap interval (runs resampled within each task; `task_bootstrap`
  resamples the tasks too), performance profiles with interval bands, and the probability of
  improvement P(X > Y) of every pair of labels with its interval (`purerl.analysis.stats`, which matches
  rliable 1.2.0: tests/integration/test_report.py);
- for each sweep, the final return against each swept setting (mean and 95% bootstrap interval over
  seeds per point).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from purerl.analysis import stats
from purerl.analysis.figures import draw_aggregates, draw_improvement, draw_profiles, draw_sensitivity
from purerl.analysis.load import load, parse_dir, read_scores
from purerl.analysis.scores import count_diverged, estimate, group, task_scores
from purerl.analysis.tables import latex_escape, latex_table, markdown_table, rows
from purerl.io import records


def write(dirs: Sequence[str | Path | tuple[Path, str | None]], out: str | Path, *,
          scores_file: str | Path | None = None, task_bootstrap: bool = False, reps: int | None = None,
          seed: int | None = None) -> Path:
    """Writes the report of `dirs` (paths, "DIR:LABEL" texts or (path, label) pairs) into `out`:
    report.md, report.tex, scores.json and PNG figures. Returns the path of report.md.

    Raises:
      ValueError: one line: a dir that is not a finished results dir, no runs, an env without a
        reference score, a bad scores file, or `out` not a directory.
    """
    reps = stats.RESAMPLES if reps is None else reps
    seed = stats.SEED if seed is None else seed
    if not dirs:
        raise ValueError("no results dirs to report on")
    if reps < 1:
        raise ValueError(f"--reps must be positive, got {reps}")
    entries = [d if isinstance(d, tuple) else parse_dir(str(d)) for d in dirs]
    loaded = [load(Path(path), label) for path, label in entries]
    runs = [r for r, _ in loaded]
    sweeps = [s for _, s in loaded if s is not None]
    for r in runs:
        if len(r.returns) == 0:
            raise ValueError(f"{r.source} holds no runs")
    given = read_scores(scores_file) if scores_file is not None else None
    scores = task_scores(runs, given)
    runs, diverged = count_diverged(runs, scores)
    table = group(runs, scores)
    table = table._replace(notes=diverged + table.notes)
    est = estimate(table, reps=reps, seed=seed, task_bootstrap=task_bootstrap)

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"report dir {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create report dir {out}: {e.strerror}") from None
    figures = {"aggregates": draw_aggregates(table, est, out / "aggregates.png"),
               "profiles": draw_profiles(table, est, out / "profiles.png")}
    if est.improvement[0]:
        figures["improvement"] = draw_improvement(est, out / "improvement.png")
    for i, sw in enumerate(sweeps):
        figures[f"sensitivity-{i}"] = draw_sensitivity(sw, out / f"sensitivity-{i}-{sw.label}-{sw.env}.png")
    records.write_atomic(out / "scores.json", json.dumps(scores, indent=2) + "\n")

    cells = rows(table, scores, est, sweeps)
    resampled = "runs within each task" + (" and the tasks" if task_bootstrap else "")
    like = ("as rliable 1.2.0, except that rliable resamples no tasks for the probability of improvement "
            "and purerl does here too" if task_bootstrap else "as rliable 1.2.0")
    method = (f"Final returns normalised per task as (return - random) / (reference - random). Intervals "
              f"of the aggregates, profiles and probabilities of improvement: 95% percentile intervals of a "
              f"stratified bootstrap ({reps} resamples of the {resampled}, seed {seed}), {like}; "
              f"of a task's returns: 95% bootstrap interval of the mean over runs. A sweep counts with its "
              f"best point retrained on fresh seeds (--eval-seeds), else with the seeds that picked it (an "
              f"optimistic score).")
    sections = [
        ("Scores per task", "scores", "Random: a uniformly random policy under each run's evaluation "
         "protocol (scores.json, reusable with --scores)."),
        ("Final returns per task", "tasks", None),
        ("Aggregates across tasks", "aggregates", f"Over the tasks {', '.join(table.common)}; normalised "
         "scores; the optimality gap is how far runs fall short of the reference (gamma = 1)."),
        ("Performance profiles", "profiles", "Fraction of runs with a normalised score above tau."),
        ("Probability of improvement", "improvement", "P(X > Y): per task, the probability that a run of X "
         "scores above a run of Y (ties count half), averaged over the tasks."),
        ("Sweeps", "sweeps", None),
    ]
    images = {"aggregates": ["aggregates"], "profiles": ["profiles"], "improvement": ["improvement"],
              "sweeps": [k for k in figures if k.startswith("sensitivity")]}
    md = ["# Report", "", "Results dirs: " + ", ".join(f"`{r.source}` ({r.label})" for r in runs), "",
          method, *([""] + [f"- {n}" for n in table.notes] if table.notes else [])]
    tex = ["% purerl report: \\input{report.tex} in a document with \\usepackage{booktabs,graphicx}",
           "% " + method]
    for title, key, text in sections:
        if len(cells[key]) == 1:
            continue
        md += ["", f"## {title}", ""] + ([text, ""] if text else []) + [markdown_table(cells[key])]
        md += [f"\n![{name}]({figures[name].name})" for name in images.get(key, [])]
        tex += ["", latex_table(cells[key], title + (". " + text if text else ""))]
        tex += [r"\begin{figure}[ht]\centering\includegraphics[width=\linewidth]{" + figures[name].name
                + r"}\caption{" + latex_escape(title) + r"}\end{figure}" for name in images.get(key, [])]
    records.write_atomic(out / "report.tex", "\n".join(tex) + "\n")
    records.write_atomic(out / "report.md", "\n".join(md) + "\n")
    return out / "report.md"
