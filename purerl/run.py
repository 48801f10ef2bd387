"""Prepare and run training jobs: the Python API behind the CLI.

    job = prepare("q_learning", "FrozenLake-misc", total_steps=100_000)
    result = train(job, seeds=range(8))

`prepare` checks every input and raises ValueError naming the problem before
anything is compiled; `train` runs all seeds as one jitted, vmapped program.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purerl import registry
from purerl.driver import SETTINGS as DRIVER_SETTINGS
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
    static, traced = registry.split(algo, registry.resolve(algo, settings))
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

    driver = {k: static[k] for k in DRIVER_SETTINGS}
    factory = {k: v for k, v in static.items() if k not in DRIVER_SETTINGS}
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


class Progress(NamedTuple):
    """A run part-way: what `train_chunked` reports after each chunk, and continues from."""

    period: int  # evaluation periods done
    state: Any  # RunState with a leading seed axis on every leaf
    metrics: dict[str, np.ndarray]  # name -> [seeds, num_evals]; columns from `period` on are zeros


def _strong(tree):
    """The tree with no weakly typed leaves, so a state restored from disk traces the same."""
    def strong(x):
        return jax.lax.convert_element_type(x, x.dtype) if jax.typeof(x).weak_type else x

    return jax.tree.map(strong, tree)


@functools.lru_cache(maxsize=8)  # a run continued in the same process reuses the compiled program
def _init_program(init: Callable):
    return jax.jit(lambda keys, hparams: _strong(jax.vmap(init, in_axes=(0, None))(keys, hparams)))


@functools.lru_cache(maxsize=8)
def _chunk_program(period: Callable, max_periods: int):
    """(state [K], hparams, periods) -> (state [K], metrics [K, max_periods]): `periods` <= max_periods
    evaluation periods of every seed, the first `periods` metric columns filled.

    The trip count is traced, so one compiled program runs every chunk, the last shorter one too.
    """

    def chunk(run, hparams, periods):
        shapes = jax.eval_shape(period, run, hparams)[1]
        buffers = {k: jnp.zeros((max_periods, *v.shape), v.dtype) for k, v in shapes.items()}

        def body(i, carry):
            run, buffers = carry
            run, metrics = period(run, hparams)
            return run, {k: buffers[k].at[i].set(v) for k, v in metrics.items()}

        return jax.lax.fori_loop(0, periods, body, (run, buffers))

    return jax.jit(jax.vmap(chunk, in_axes=(0, None, None)))


def progress_shapes(job: Job, seeds: Sequence[int]) -> Progress:
    """The shapes and dtypes (ShapeDtypeStructs) of a run's `Progress`, computed without running it."""
    keys = jax.eval_shape(seed_keys, [int(s) for s in seeds])
    state = jax.eval_shape(_init_program(job.trainer.init), keys, job.hparams)
    metrics = jax.eval_shape(jax.vmap(job.trainer.period, in_axes=(0, None)), state, job.hparams)[1]
    shape = (len(seeds), job.trainer.num_evals)
    return Progress(0, state, {k: jax.ShapeDtypeStruct(shape, v.dtype) for k, v in metrics.items()})


def train_chunked(
    job: Job,
    seeds: Sequence[int],
    *,
    periods_per_chunk: int = 1,
    start: Progress | None = None,
    on_chunk: Callable[[Progress, float], None] | None = None,
) -> Result:
    """Trains like `train`, as a host loop over compiled chunks of evaluation periods.

    Every chunk runs the same compiled program, so a run continued from a `Progress`
    it reported (a checkpoint) ends bit-identical to the same run left uninterrupted.
    Its numbers equal `train`'s to float rounding: XLA compiles the one-shot scan
    and the chunk loop differently.

    Args:
      job: the prepared job.
      seeds: the seeds, vmapped as in `train`.
      periods_per_chunk: evaluation periods per chunk (the last chunk may be shorter); it
        shapes the compiled program, so continue a run with the value it started with.
      start: continue from this `Progress` instead of the beginning; its state must
        have `progress_shapes(job, seeds).state`'s structure.
      on_chunk: called after every chunk as `on_chunk(progress, chunk_s)`.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    if periods_per_chunk < 1:
        raise ValueError(f"periods per chunk must be positive, got {periods_per_chunk}")
    num_evals, compile_s, wall_s = job.trainer.num_evals, 0.0, 0.0
    if start is None:
        keys = seed_keys(seeds)
        begin = time.perf_counter()
        init = _init_program(job.trainer.init).lower(keys, job.hparams).compile()
        compile_s += time.perf_counter() - begin
        metrics = {k: np.zeros(v.shape, v.dtype) for k, v in progress_shapes(job, seeds).metrics.items()}
        begin = time.perf_counter()
        start = Progress(0, jax.block_until_ready(init(keys, job.hparams)), metrics)
        wall_s += time.perf_counter() - begin
    if not 0 <= start.period <= num_evals:
        raise ValueError(f"cannot continue from period {start.period} of a {num_evals}-period run")
    period, state = start.period, start.state
    metrics = {k: np.array(v) for k, v in start.metrics.items()}
    max_periods = min(periods_per_chunk, num_evals)
    begin = time.perf_counter()
    program = _chunk_program(job.trainer.period, max_periods)
    program = program.lower(state, job.hparams, np.int32(max_periods)).compile()
    compile_s += time.perf_counter() - begin
    while period < num_evals:
        length = min(max_periods, num_evals - period)
        begin = time.perf_counter()
        state, chunk_metrics = jax.block_until_ready(program(state, job.hparams, np.int32(length)))
        chunk_s = time.perf_counter() - begin
        wall_s += chunk_s
        for k, v in chunk_metrics.items():
            metrics[k][:, period : period + length] = np.asarray(v)[:, :length]
        period += length
        if on_chunk is not None:
            on_chunk(Progress(period, state, {k: v.copy() for k, v in metrics.items()}), chunk_s)
    steps = job.trainer.steps_per_period * np.arange(1, num_evals + 1)
    return Result(seeds, metrics, steps, state, compile_s, wall_s)
