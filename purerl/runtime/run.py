"""A spec built into a job, and the one compiled chunk program every training path runs.

    job = build(JobSpec.create("q_learning", "FrozenLake-misc", total_steps=100_000, seeds=range(8)))
    result = train(job)

`build` makes the env and the algorithm (raising ValueError naming the problem before anything
is compiled). `train_chunked` runs a job as a host loop over compiled chunks of evaluation
periods, the state donated into each; `train` is that loop without callbacks. `purerl train`,
`experiment.train` and `experiments/results.py` all run it, so for the same spec their per-seed
numbers are equal bit for bit.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purerl.algos.base import Algorithm
from purerl.config import registry
from purerl.config.settings import DRIVER_SETTINGS
from purerl.config.spec import JobSpec, jsonable
from purerl.core import parallel
from purerl.envs import Env, make_env
from purerl.nets import networks
from purerl.runtime import processes
from purerl.runtime.driver import Trainer, make_trainer, to_hparams

MAX_UPDATES = 2**31 - 1  # int32 update counters


class Job(NamedTuple):
    spec: JobSpec
    env: Env
    static: dict  # static settings, as built (A3C's devices resolved)
    hparams: Any  # HParams of arrays
    algorithm: Algorithm
    trainer: Trainer
    env_params: dict | None = None  # the traced env params as arrays (`Env.traced_values`), or None

    @property
    def algo(self) -> str:
        return self.spec.algo

    @property
    def seeds(self) -> list[int]:
        return list(self.spec.seeds)


def build(spec: JobSpec, *, max_devices: int | None = None) -> Job:
    """Makes the spec's env, algorithm and trainer (nothing is compiled yet).

    An algorithm whose actors split over devices (`devices` setting, 0 = auto) gets as many
    devices as divide its actors, at most `max_devices` (default: every device).

    Raises:
      ValueError: the env or its kwargs are unknown, or the algorithm cannot run on it.
    """
    definition = registry.definition(spec.algo)
    bins = bounds = None
    if spec.discretize is not None:
        bins, bounds = spec.discretize["bins"], spec.discretize["bounds"]
    env = make_env(spec.env, jsonable(spec.env_kwargs), bins=bins, bounds=bounds,
                   env_params=jsonable(spec.env_params), sticky_actions=spec.sticky_actions)
    if definition.obs == "discrete" and env.num_obs is None:
        if len(env.obs_shape) != 1:
            shape = "x".join(map(str, env.obs_shape)) or "scalar"
            raise ValueError(f"{spec.algo} is tabular and needs discrete observations; {spec.env}'s are "
                             f"{shape} arrays, which the discretiser (1-D Box only) cannot map: use a neural "
                             "algorithm (`purerl list`)")
        raise ValueError(
            f"{spec.algo} is tabular and {spec.env} has a Box observation: discretise it "
            "(--discretize BINS [--bounds LO:HI,...]; see `purerl train --help`)"
        )
    if definition.actions == "discrete" and not env.discrete_actions:
        raise ValueError(f"{spec.algo} needs a discrete action space; {spec.env} has a continuous one")
    if definition.actions == "continuous" and env.discrete_actions:
        raise ValueError(f"{spec.algo} needs a continuous (Box) action space; {spec.env} has a discrete one")
    static, traced = registry.split(spec.algo, spec.settings)
    driver = {k: static[k] for k in DRIVER_SETTINGS}
    factory = {k: v for k, v in static.items() if k not in DRIVER_SETTINGS}
    if factory.get("network") == networks.AUTO:  # recorded as chosen (summary.json's static)
        factory["network"] = networks.choose(env, table=definition.table_network)
    if factory.get("devices") == 0:
        factory["devices"] = parallel.divisor_devices(factory["num_envs"], max_devices)
    algorithm = registry.factory(spec.algo)(env, total_steps=spec.total_steps, **factory)
    if spec.total_steps // algorithm.steps_per_update > MAX_UPDATES:
        raise ValueError(f"total steps {spec.total_steps:,} make more than 2^31 updates per seed; "
                         "split the run or take more env steps per update")
    trainer = make_trainer(algorithm, env, total_steps=spec.total_steps, **driver)
    return Job(spec, env, static | factory, to_hparams(definition.hparams, traced), algorithm, trainer,
               env.traced_values() or None)


def prepare(algo: str, env_id: str | None = None, *args: Any, **kwargs: Any) -> Job:
    """`build(JobSpec.create(algo, env_id, ...))`: a checked job from names and values.

    The other arguments are `JobSpec.create`'s; the env keeps the name `env_id` it has always had here.
    """
    return build(JobSpec.create(algo, env_id, *args, **kwargs))


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """One typed PRNG key per seed."""
    return jax.vmap(jax.random.key)(jnp.asarray(list(seeds), jnp.uint32))


class Result(NamedTuple):
    seeds: list[int]
    metrics: dict[str, np.ndarray]  # name -> [seeds, num_evals]
    env_steps: np.ndarray  # [num_evals] env steps per seed at each evaluation
    final_state: Any  # RunState with a leading seed axis
    compile_s: float
    wall_s: float  # run time after compile (this process's chunks)
    periods: int = 0  # evaluation periods done: num_evals unless stopped early

    @property
    def final_return(self) -> np.ndarray:
        return self.metrics["eval_return"][:, -1]


class Progress(NamedTuple):
    """A run part-way: what `train_chunked` reports after each chunk, and continues from.

    Its state is donated to the next chunk: copy it (`jax.tree.map(lambda x: x.copy(), state)`)
    to keep it beyond the `on_chunk` call it was reported to.
    """

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
    return jax.jit(lambda keys, hparams, env_params: _strong(
        jax.vmap(init, in_axes=(0, None, None))(keys, hparams, env_params)))


def chunk_of_periods(period: Callable, max_periods: int) -> Callable:
    """(run, hparams, env_params, n) -> (run, metrics [max_periods]): `n` <= max_periods evaluation
    periods of one run, the first `n` metric rows filled. The trip count is traced, so one compiled
    program runs every chunk of a run, the last shorter one too."""

    def chunk(run, hparams, env_params, n):
        shapes = jax.eval_shape(period, run, hparams, env_params)[1]
        buffers = {k: jnp.zeros((max_periods, *v.shape), v.dtype) for k, v in shapes.items()}

        def body(i, carry):
            run, buffers = carry
            run, metrics = period(run, hparams, env_params)
            return run, {k: buffers[k].at[i].set(v) for k, v in metrics.items()}

        return jax.lax.fori_loop(0, n, body, (run, buffers))

    return chunk


@functools.lru_cache(maxsize=8)
def _chunk_program(period: Callable, max_periods: int):
    """(state [K], hparams, env_params, n) -> (state [K], metrics [K, max_periods]): `periods` of
    every seed. The state is donated: its buffers (replay included) are reused for the output, not
    held twice."""
    chunk = chunk_of_periods(period, max_periods)
    return jax.jit(jax.vmap(chunk, in_axes=(0, None, None, None)), donate_argnums=0)


def progress_shapes(job: Job) -> Progress:
    """The shapes and dtypes (ShapeDtypeStructs) of a run's `Progress`, computed without running it."""
    keys = jax.eval_shape(seed_keys, job.seeds)
    state = jax.eval_shape(_init_program(job.trainer.init), keys, job.hparams, job.env_params)
    period = jax.vmap(job.trainer.period, in_axes=(0, None, None))
    metrics = jax.eval_shape(period, state, job.hparams, job.env_params)[1]
    shape = (len(job.seeds), job.trainer.num_evals)
    return Progress(0, state, {k: jax.ShapeDtypeStruct(shape, v.dtype) for k, v in metrics.items()})


def env_steps(job: Job) -> np.ndarray:
    """[num_evals] env steps per seed at each evaluation."""
    return job.trainer.steps_per_period * np.arange(1, job.trainer.num_evals + 1)


def train_chunked(
    job: Job,
    *,
    periods_per_chunk: int = 1,
    start: Progress | None = None,
    on_chunk: Callable[[Progress, float], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Result:
    """Trains every seed of the job as a host loop over compiled chunks of evaluation periods.

    Every chunk runs the same compiled program, so a run continued from a `Progress` it
    reported (a checkpoint) ends bit-identical to the same run left uninterrupted.

    Args:
      job: the built job; its spec's seeds are vmapped.
      periods_per_chunk: evaluation periods per chunk (the last chunk may be shorter); it
        shapes the compiled program, so continue a run with the value it started with.
      start: continue from this `Progress` (donated) instead of the beginning; its state must
        have `progress_shapes(job).state`'s structure.
      on_chunk: called after every chunk as `on_chunk(progress, chunk_s)`.
      stop: asked after every chunk; when it returns True the run stops there and the result
        holds the periods done (`Result.periods`).
    """
    if periods_per_chunk < 1:
        raise ValueError(f"periods per chunk must be positive, got {periods_per_chunk}")
    seeds, num_evals, compile_s, wall_s = job.seeds, job.trainer.num_evals, 0.0, 0.0
    if start is None:
        keys = seed_keys(seeds)
        begin = time.perf_counter()
        init = _init_program(job.trainer.init).lower(keys, job.hparams, job.env_params).compile()
        compile_s += time.perf_counter() - begin
        metrics = {k: np.zeros(v.shape, v.dtype) for k, v in progress_shapes(job).metrics.items()}
        begin = time.perf_counter()
        start = Progress(0, jax.block_until_ready(init(keys, job.hparams, job.env_params)), metrics)
        wall_s += time.perf_counter() - begin
    if not 0 <= start.period <= num_evals:
        raise ValueError(f"cannot continue from period {start.period} of a {num_evals}-period run")
    period, state = start.period, start.state
    metrics = {k: np.array(v) for k, v in start.metrics.items()}
    max_periods = min(periods_per_chunk, num_evals)
    begin = time.perf_counter()
    program = _chunk_program(job.trainer.period, max_periods)
    program = program.lower(state, job.hparams, job.env_params, np.int32(max_periods)).compile()
    compile_s += time.perf_counter() - begin
    processes.barrier("compiled")  # a peer slower to compile is waited for here, not in a collective
    while period < num_evals and not (stop is not None and stop()):
        length = min(max_periods, num_evals - period)
        begin = time.perf_counter()
        state, chunk_metrics = jax.block_until_ready(
            program(state, job.hparams, job.env_params, np.int32(length)))
        chunk_s = time.perf_counter() - begin
        wall_s += chunk_s
        for k, v in chunk_metrics.items():
            metrics[k][:, period : period + length] = np.asarray(v)[:, :length]
        period += length
        if on_chunk is not None:
            on_chunk(Progress(period, state, {k: v.copy() for k, v in metrics.items()}), chunk_s)
    return Result(seeds, metrics, env_steps(job), state, compile_s, wall_s, period)


def train(job: Job | JobSpec, seeds: Sequence[int] | None = None) -> Result:
    """Trains every seed of a job (or spec) in one vmapped chunk program: `purerl train`'s numbers.

    `seeds`, if given, replace the spec's.
    """
    job = build(job) if isinstance(job, JobSpec) else job
    if seeds is not None:
        job = job._replace(spec=job.spec.replace(seeds=[int(s) for s in seeds]))
    return train_chunked(job)
