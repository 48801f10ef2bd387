"""Reports across tasks: `purerl report DIR[:LABEL]... [--out OUT] [--scores FILE.json]`.

Reads results dirs (`purerl train` or `purerl sweep`; a sweep counts with its best point's runs: those
retrained on fresh seeds with `--eval-seeds`, else its tuning seeds'),
groups their final returns by label (the algorithm, or the LABEL after the dir) and task (the env),
and writes OUT/report.md, OUT/report.tex (booktabs tables to `\\input`), OUT/scores.json (the scores
used, to pass back with --scores) and PNG figures, following Agarwal et al. (2021), "Deep RL at the
edge of the statistical precipice":

- per task, every run's final return normalised as `(return - random) / (reference - random)`, where
  `random` is a uniformly random policy's return under the runs' own evaluation protocol
  (`random_return`: measured once per env and protocol) and `reference` comes from
  `REFERENCE_SCORES`; `--scores` overrides either, per env;
- across the tasks every label has: IQM, mean, median and optimality gap of the normalised scores,
  each with a stratified bootstrap interval (runs resampled within each task; `task_bootstrap`
  resamples the tasks too), performance profiles with interval bands, and the probability of
  improvement P(X > Y) of every pair of labels with its interval (`purerl.analysis.stats`, which matches
  rliable 1.2.0: tests/test_report.py);
- for each sweep, the final return against each swept setting (mean and 95% bootstrap interval over
  seeds per point).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from purerl.analysis import stats
from purerl.config.spec import JobSpec
from purerl.io import records

# env -> (reference score, where it comes from). A normalised score of 1 means "as good as this".
REFERENCE_SCORES: dict[str, tuple[float, str]] = {
    "CartPole-v1": (500.0, "the maximum return (500-step limit)"),
    "Acrobot-v1": (-60.0, "a well-trained policy's return (swings up in about 60 steps)"),
    "Pendulum-v1": (-150.0, "a well-trained policy's return (swings up and balances)"),
    "Asterix-MinAtar": (15.0, "gymnax's PPO baseline"),
    "Breakout-MinAtar": (28.0, "gymnax's PPO baseline"),
    "Freeway-MinAtar": (58.0, "gymnax's PPO baseline"),
    "SpaceInvaders-MinAtar": (131.0, "gymnax's PPO baseline"),
    "Catch-bsuite": (1.0, "the maximum return (every ball caught)"),
    "FrozenLake-misc": (0.744, "the optimal policy's success rate within the 100-step limit (slippery 4x4, "
                        "finite-horizon value iteration)"),
}
TAUS = 101  # points of the performance-profile grid
PROFILE_TABLE_TAUS = (0.25, 0.5, 0.75, 1.0)


def random_return(spec: JobSpec, num_keys: int = 10) -> float:
    """A uniformly random policy's return under the spec's evaluation protocol (its env, sticky
    actions and episodes per evaluation), averaged over `num_keys` evaluations."""
    import jax

    from purerl.envs import evaluate
    from purerl.runtime import run as running

    env = running.build(spec.replace(seeds=[0])).env
    episodes = spec.settings["eval_episodes"]
    if env.discrete_actions:
        act = lambda obs, key: jax.random.randint(key, obs.shape[:1], 0, env.num_actions)
    else:
        act = lambda obs, key: jax.random.uniform(key, obs.shape[:1] + env.action_shape,
                                                  minval=env.action_low, maxval=env.action_high)
    program = jax.jit(jax.vmap(lambda key: evaluate(env, act, key, episodes)))
    return float(np.mean(program(jax.random.split(jax.random.key(12345), num_keys))))


def protocol(spec: JobSpec) -> dict:
    """What a random policy's return depends on: the env as built and the episodes per evaluation."""
    return {"env": spec.env, "env_kwargs": spec.env_kwargs, "env_params": spec.env_params,
            "sticky_actions": spec.sticky_actions, "eval_episodes": spec.settings["eval_episodes"]}


# Reading results dirs


class Runs(NamedTuple):
    label: str
    env: str
    returns: np.ndarray  # [runs] final return per seed
    spec: JobSpec
    source: str  # the dir, and for a sweep which point


class Sweep(NamedTuple):
    label: str
    env: str
    path: Path
    settings: list[str]  # the swept settings
    values: dict[str, np.ndarray]  # setting -> [points]
    returns: np.ndarray  # [points, seeds] final returns
    best: int


def parse_dir(arg: str) -> tuple[Path, str | None]:
    """`DIR` or `DIR:LABEL`: an existing path is a dir as written; otherwise the text after the last
    colon is the label."""
    if Path(arg).exists() or ":" not in arg:
        return Path(arg), None
    path, label = arg.rsplit(":", 1)
    if not path or not label:
        raise ValueError(f"give a results dir as DIR or DIR:LABEL, got {arg!r}")
    return Path(path), label


def load(path: Path, label: str | None = None) -> tuple[Runs, Sweep | None]:
    """One results dir's final returns per seed (a sweep's: its best point's) and, for a sweep, its
    points. Raises ValueError (one line) on a dir that is not a finished results dir."""
    if not path.is_dir():
        raise ValueError(f"{path}: no such results dir")
    config = records.read_config(path)
    info = records.read_summary(path)
    if info is None:
        raise ValueError(f"{path} has no {records.SUMMARY}: the run has not finished")
    spec = config.spec
    label = label or spec.algo
    if config.run.get("kind") != "sweep":
        returns = np.asarray(info["final_return"]["per_seed"], dtype=np.float64)
        return Runs(label, spec.env, returns, spec, str(path)), None
    points = info["points"]
    settings = [k for k in points[0] if k not in ("point", "final_return", "diverged")]
    values = {k: np.asarray([p[k] for p in points], dtype=np.float64) for k in settings}
    returns = np.asarray([p["final_return"]["per_seed"] for p in points], dtype=np.float64)
    best = int(info["best"]["point"])
    chosen = ", ".join(f"{k}={values[k][best]:.3g}" for k in settings)
    runs = Runs(label, spec.env, returns[best], spec,
                f"{path} (best of {len(points)} points: {chosen}; its tuning seeds)")
    evaluation = info.get("evaluation")
    if evaluation is not None:  # the best point retrained on fresh seeds: those are the result
        seeds = evaluation["eval_seeds"]
        runs = Runs(label, spec.env, np.asarray(evaluation["final_return"]["per_seed"], dtype=np.float64),
                    JobSpec.from_dict(evaluation["spec"]), f"{path} (best of {len(points)} points: {chosen}; "
                    f"retrained on fresh seeds {seeds[0]}-{seeds[-1]})")
    return runs, Sweep(label, spec.env, path, settings, values, returns, best)


# Scores


def read_scores(path: Path) -> dict[str, dict[str, float]]:
    """A --scores file: {env: {"random": x, "reference": y}}, either key optional."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"scores file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"scores file {path} cannot be read: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"scores file {path} must hold {{env: {{\"random\": x, \"reference\": y}}}}")
    scores = {}
    for env, entry in data.items():
        if not isinstance(entry, dict) or not set(entry) <= {"random", "reference", "sources"}:
            raise ValueError(f"scores file {path}: {env} must map to {{\"random\": x, \"reference\": y}}")
        try:
            scores[env] = {k: float(v) for k, v in entry.items() if k in ("random", "reference")}
        except (TypeError, ValueError):
            raise ValueError(f"scores file {path}: {env}'s scores must be numbers") from None
    return scores


def task_scores(runs: Sequence[Runs], given: dict[str, dict[str, float]] | None = None,
                measure=random_return) -> dict[str, dict]:
    """env -> {"random", "reference", "sources"}: `given` first, then `REFERENCE_SCORES` and a random
    policy measured (`measure(spec)`) once per env and protocol, with the first run's protocol.

    Raises:
      ValueError: an env without a reference score, or with reference == random.
    """
    given = given or {}
    measured: dict[str, float] = {}
    scores = {}
    for r in runs:
        if r.env in scores:
            continue
        entry = dict(given.get(r.env, {}))
        sources = {k: "--scores" for k in entry}
        if "reference" not in entry:
            if r.env not in REFERENCE_SCORES:
                raise ValueError(f"no reference score for {r.env}; give one with --scores FILE.json "
                                 f"({{\"{r.env}\": {{\"reference\": ...}}}})")
            entry["reference"], sources["reference"] = REFERENCE_SCORES[r.env]
        if "random" not in entry:
            key = json.dumps(protocol(r.spec), sort_keys=True)
            if key not in measured:
                measured[key] = float(measure(r.spec))
            episodes = r.spec.settings["eval_episodes"]
            entry["random"] = measured[key]
            sources["random"] = f"uniformly random policy, {episodes} episodes x 10 evaluations"
        if entry["reference"] == entry["random"]:
            raise ValueError(f"{r.env}: the reference score equals the random score ({entry['random']}): "
                             "nothing to normalise by")
        scores[r.env] = {**entry, "sources": sources}
    return scores


def normalize(returns, random: float, reference: float) -> np.ndarray:
    """(return - random) / (reference - random): 0 is the random policy, 1 the reference."""
    return (np.asarray(returns, dtype=np.float64) - random) / (reference - random)


# Grouping


class Table(NamedTuple):
    labels: list[str]
    tasks: list[str]  # every task, in order of first appearance
    common: list[str]  # the tasks every label has: those the aggregates are over
    returns: dict[tuple[str, str], np.ndarray]  # (label, task) -> [runs]
    normalized: dict[str, np.ndarray]  # label -> [runs, common tasks] (runs cut to the fewest of any task)
    notes: list[str]


def group(runs: Sequence[Runs], scores: dict[str, dict]) -> Table:
    """Runs by label and task; dirs with the same label and task add their runs together."""
    labels = list(dict.fromkeys(r.label for r in runs))
    tasks = list(dict.fromkeys(r.env for r in runs))
    returns: dict[tuple[str, str], np.ndarray] = {}
    for r in runs:
        key = (r.label, r.env)
        returns[key] = np.concatenate([returns[key], r.returns]) if key in returns else r.returns
    common = [t for t in tasks if all((label, t) in returns for label in labels)]
    if not common:
        raise ValueError("no task is common to all labels: " + "; ".join(
            f"{label}: {', '.join(t for t in tasks if (label, t) in returns)}" for label in labels))
    notes = []
    left_out = [t for t in tasks if t not in common]
    if left_out:
        notes.append(f"Tasks not run by every label are in the per-task table only: {', '.join(left_out)}.")
    normalized = {}
    for label in labels:
        counts = [len(returns[label, t]) for t in common]
        n = min(counts)
        if max(counts) > n:
            notes.append(f"{label}: the aggregates take the first {n} runs of each task (tasks have "
                         f"{min(counts)} to {max(counts)} runs).")
        normalized[label] = np.stack(
            [normalize(returns[label, t][:n], scores[t]["random"], scores[t]["reference"]) for t in common],
            axis=1)
    return Table(labels, tasks, common, returns, normalized, notes)


# Estimates


class Estimates(NamedTuple):
    aggregates: tuple[dict, dict]  # label -> [4] points; label -> [2, 4] intervals (stats.AGGREGATES)
    taus: np.ndarray  # [T]
    profiles: tuple[dict, dict]  # label -> [T]; label -> [2, T]
    improvement: tuple[dict, dict]  # (X, Y) -> scalar; (X, Y) -> [2]


def estimate(table: Table, *, reps: int, seed: int, task_bootstrap: bool) -> Estimates:
    options = {"reps": reps, "seed": seed, "task_bootstrap": task_bootstrap}
    aggregates = stats.interval_estimates(table.normalized, stats.aggregates, **options)
    every = np.concatenate([s.ravel() for s in table.normalized.values()])
    taus = np.linspace(min(0.0, np.floor(every.min() * 4) / 4), max(1.0, np.ceil(every.max() * 4) / 4), TAUS)
    taus = np.union1d(taus, PROFILE_TABLE_TAUS)
    profile = lambda scores: stats.score_distribution(scores, taus)
    profiles = stats.interval_estimates(table.normalized, profile, **options)
    pairs = {(x, y): (table.normalized[x], table.normalized[y])
             for x, y in itertools.combinations(table.labels, 2)}
    improvement = stats.interval_estimates(pairs, stats.probability_of_improvement, **options)
    return Estimates(aggregates, taus, profiles, improvement)


# Writing


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


def _figure(ncols: int, nrows: int = 1, width: float = 4.0, height: float = 3.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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
            from matplotlib.ticker import NullFormatter

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
    table = group(runs, scores)
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
    method = (f"Final returns normalised per task as (return - random) / (reference - random). Intervals "
              f"of the aggregates, profiles and probabilities of improvement: 95% percentile intervals of a "
              f"stratified bootstrap ({reps} resamples of the {resampled}, seed {seed}), as rliable 1.2.0; "
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
