"""Normalised scores across tasks, following Agarwal et al. (2021), "Deep RL at the edge of the
statistical precipice":

- `task_scores`: per env, the `random` and `reference` scores to normalise by. `random` is a uniformly
  random policy's return under the runs' own evaluation protocol (`random_return`, measured once per
  env and `protocol`), `reference` comes from `REFERENCE_SCORES` (`reference_scores.json`: per env its
  score, what it is and its source); a --scores file overrides either;
- `normalize`: `(return - random) / (reference - random)`;
- `group`: the runs by label and task (`Table`), normalised over the tasks every label has;
- `estimate`: each label's aggregates, performance profile and the probability of improvement of
  every pair of labels, with stratified bootstrap intervals (`purerl.analysis.stats`; `Estimates`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from importlib import resources
from typing import NamedTuple

import numpy as np

from purerl.analysis import stats
from purerl.analysis.load import Runs
from purerl.config.spec import JobSpec


class Reference(NamedTuple):
    """A task's reference score: a normalised score of 1 means "as good as this"."""

    score: float
    description: str  # what the score is (the reports' "reference from")
    source: str  # where it comes from: a citation, "computed by purerl ...", or "no published source: ..."


def read_references() -> dict[str, Reference]:
    """The reference scores shipped with purerl (`reference_scores.json`, package data), keyed by env
    id as results dirs name it: a new env gets a row there, not code here."""
    text = resources.files("purerl.analysis").joinpath("reference_scores.json").read_text(encoding="utf-8")
    return {env: Reference(float(entry["reference"]), entry["description"], entry["source"])
            for env, entry in json.loads(text).items()}


REFERENCE_SCORES = read_references()
TAUS = 101  # points of the performance-profile grid
PROFILE_TABLE_TAUS = (0.25, 0.5, 0.75, 1.0)


def random_return(spec: JobSpec, num_keys: int = 10) -> float:
    """A uniformly random policy's return under the spec's evaluation protocol (its env, sticky
    actions and episodes per evaluation), averaged over `num_keys` evaluations."""
    # Imported here, not at the top: `purerl report` imports this module, and JAX with the env suites
    # takes seconds to import, which a report given every random score (--scores) never needs.
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
            reference = REFERENCE_SCORES[r.env]
            entry["reference"], sources["reference"] = reference.score, reference.description
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


def count_diverged(runs: Sequence[Runs], scores: dict[str, dict]) -> tuple[list[Runs], list[str]]:
    """A run whose final return is not finite (it diverged) counts as its env's random policy: a
    normalised score of 0, in every table and estimate. Returns the runs so counted and a note naming
    each such dir and seed."""
    counted, notes = [], []
    for r in runs:
        bad = ~np.isfinite(r.returns)
        if bad.any():
            seeds = ", ".join(str(r.spec.seeds[i]) for i in np.flatnonzero(bad))
            random = scores[r.env]["random"]
            notes.append(f"{r.source}: the final return of seed {seeds} is not finite (the run diverged); "
                         f"it counts as the random policy's return, {random:.4g} (normalised score 0).")
            r = r._replace(returns=np.where(bad, random, r.returns))
        counted.append(r)
    return counted, notes


def normalize(returns, random: float, reference: float) -> np.ndarray:
    """(return - random) / (reference - random): 0 is the random policy, 1 the reference."""
    return (np.asarray(returns, dtype=np.float64) - random) / (reference - random)


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
