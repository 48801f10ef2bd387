"""Prepare and run training jobs: the Python API behind the CLI.

    job = prepare("q_learning", "FrozenLake-misc", total_steps=100_000)
    result = train(job, seeds=range(8))

`prepare` checks every input and raises ValueError naming the problem before
anything is compiled; `train` runs all seeds as one jitted, vmapped program.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purerl import registry
from purerl.driver import Algorithm, Trainer, make_trainer, to_hparams
from purerl.envs import Env, make_env


class Job(NamedTuple):
    algo: str
    env: Env
    env_kwargs: dict
    discretize: dict | None  # {"bins": [...], "bounds": [...]} or None
    static: dict  # static settings, defaults filled in
    hparams: Any  # HParams of arrays
    algorithm: Algorithm
    trainer: Trainer


def prepare(
    algo: str,
    env_id: str | None = None,
    env_kwargs: dict | None = None,
    *,
    total_steps: int | None = None,
    settings: dict | None = None,
    bins: Sequence[int] | None = None,
    bounds: Sequence[Sequence[float]] | None = None,
) -> Job:
    """Validates a job and builds its trainer (nothing is compiled yet).

    Args:
      algo: algorithm name (see `registry.ALGORITHMS`).
      env_id: gymnax env id; defaults to the algorithm's reference env.
      env_kwargs: env constructor keyword arguments.
      total_steps: env steps per seed; defaults to the algorithm's budget.
      settings: any static or traced setting by name.
      bins, bounds: discretise a Box observation (see `envs.make_env`).
    """
    if algo not in registry.ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {', '.join(registry.ALGORITHMS)}")
    spec = registry.ALGORITHMS[algo]
    static, traced = registry.split_settings(algo, dict(settings or {}))
    static = {**registry.static_settings(algo), **static}
    total_steps = spec.default_total_steps if total_steps is None else total_steps
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
        raise ValueError(f"total steps must be a positive integer, got {total_steps!r}")
    if bounds is not None and bins is None:
        raise ValueError("bounds given without bins: the discretiser needs bins")

    env_id = env_id or spec.default_env
    env = make_env(env_id, env_kwargs, bins=bins, bounds=bounds)
    if spec.obs == "discrete" and env.num_obs is None:
        raise ValueError(
            f"{algo} is tabular and {env_id} has a Box observation: discretise it "
            "(--discretize BINS [--bounds LO:HI,...]; see `purerl train --help`)"
        )
    if spec.actions == "discrete" and not env.discrete_actions:
        raise ValueError(f"{algo} needs a discrete action space; {env_id} has a continuous one")
    if spec.actions == "continuous" and env.discrete_actions:
        raise ValueError(f"{algo} needs a continuous (Box) action space; {env_id} has a discrete one")

    driver = {k: static[k] for k in registry.DRIVER_SETTINGS}
    factory = {k: v for k, v in static.items() if k not in registry.DRIVER_SETTINGS}
    algorithm = spec.make(env, total_steps=total_steps, **factory)
    trainer = make_trainer(algorithm, env, total_steps=total_steps, **driver)
    discretize = None if bins is None else {"bins": list(bins), "bounds": bounds}
    hparams = to_hparams(spec.hparams, traced)
    return Job(algo, env, dict(env_kwargs or {}), discretize, static, hparams, algorithm, trainer)


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """One typed PRNG key per seed."""
    return jax.vmap(jax.random.key)(jnp.asarray(list(seeds), jnp.uint32))


class Result(NamedTuple):
    seeds: list[int]
    metrics: dict[str, np.ndarray]  # name -> [seeds, num_evals]
    env_steps: np.ndarray  # [num_evals] env steps per seed at each evaluation
    final_state: Any  # RunState with a leading seed axis
    compile_s: float
    wall_s: float  # run time after compile

    @property
    def final_return(self) -> np.ndarray:
        return self.metrics["eval_return"][:, -1]


def train(job: Job, seeds: Sequence[int]) -> Result:
    """Trains every seed in one jitted, vmapped call."""
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    keys = seed_keys(seeds)
    program = jax.jit(jax.vmap(job.trainer.train, in_axes=(0, None)))
    start = time.perf_counter()
    compiled = program.lower(keys, job.hparams).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    state, metrics = jax.block_until_ready(compiled(keys, job.hparams))
    wall_s = time.perf_counter() - start
    steps = job.trainer.steps_per_period * np.arange(1, job.trainer.num_evals + 1)
    metrics = {k: np.asarray(v) for k, v in metrics.items()}
    return Result(seeds, metrics, steps, state, compile_s, wall_s)
