"""The one training driver every algorithm runs on.

An algorithm is a bundle of pure functions over an immutable state pytree
(`Algorithm`). `make_trainer` turns it into a jittable
`train(key, hparams) -> (run_state, metrics)`: `init`, then a `lax.scan` over
evaluation periods, each a `lax.scan` of `update` followed by a greedy (or
sampled, per algorithm) evaluation over many vmapped episodes. Each period
also reports `diverged`: whether any float of the state or the metrics
(parameters, losses) is non-finite or beyond `DIVERGED_ABOVE`.

Static: everything that sets a shape or a loop length (the trainer's and the
algorithm factory's arguments). Traced: the `hparams` pytree, and the env
params the job traces (`env_params`, a dict of float arrays: `Env.bind` makes
every step and reset of the env use them), so `jit(vmap(train))` over seeds,
hyperparameters and env dynamics compiles once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl.algos.base import Algorithm
from purerl.config.settings import DRIVER_SETTINGS
from purerl.envs import Env, evaluate

Array = jax.Array


class RunState(NamedTuple):
    algo: Any  # the algorithm's state
    eval_key: Array  # key stream for evaluation, apart from training's


class Trainer(NamedTuple):
    """`train` == `init` then `num_evals` x `period`, bit for bit.

    Each takes `(key or run, hparams, env_params=None)`: `env_params` are the traced env params
    (`Env.traced_values`), or None for the env's own, compiled in as constants.
    """

    init: Callable[..., RunState]
    period: Callable[..., tuple[RunState, dict[str, Array]]]
    train: Callable[..., tuple[RunState, dict[str, Array]]]
    num_evals: int
    steps_per_period: int  # env steps per seed between evaluations

    @property
    def total_steps(self) -> int:
        return self.num_evals * self.steps_per_period


def to_hparams(cls, values: dict | None = None):
    """Builds an HParams NamedTuple of arrays (floats stay float32, ints int32).

    A Python float and a jax array trace differently, so every leaf is an array.
    """
    merged = {**cls._field_defaults, **(values or {})}
    return cls(
        **{
            k: jnp.asarray(v, jnp.int32 if isinstance(cls._field_defaults[k], int) else jnp.float32)
            for k, v in merged.items()
        }
    )


DIVERGED_ABOVE = 1e30  # |x| beyond this (float32 overflows at 3.4e38) counts as diverged


def diverged(*trees: Any) -> Array:
    """True where any float in the trees is non-finite or beyond `DIVERGED_ABOVE` in magnitude."""
    leaves = [x for x in jax.tree.leaves(trees) if jnp.issubdtype(x.dtype, jnp.inexact)]
    if not leaves:
        return jnp.zeros((), bool)
    return ~jnp.all(jnp.stack([jnp.all(jnp.abs(x) <= DIVERGED_ABOVE) for x in leaves]))


def make_trainer(
    algo: Algorithm, env: Env, *, total_steps: int, num_evals: int = DRIVER_SETTINGS["num_evals"],
    eval_episodes: int = DRIVER_SETTINGS["eval_episodes"]
) -> Trainer:
    """Builds the training program.

    Args:
      algo: the algorithm.
      env: the environment evaluated on (the algorithm closes over its own).
      total_steps: env steps per seed; rounded down to whole evaluation periods
        (at least one update per period).
      num_evals: evaluations during the run; the last is the final return.
      eval_episodes: episodes per evaluation, one per vmapped env.
    """
    updates_per_eval = max(1, total_steps // (algo.steps_per_update * num_evals))

    def init(key, hparams, env_params=None):
        algo_key, eval_key = jax.random.split(key)
        with env.bind(env_params):
            return RunState(algo.init(algo_key, hparams), eval_key)

    def period(run, hparams, env_params=None):
        def step(state, _):
            return algo.update(state, hparams)

        with env.bind(env_params):
            state, metrics = jax.lax.scan(step, run.algo, length=updates_per_eval)
            eval_key, key = jax.random.split(run.eval_key)
            metrics = {k: jnp.mean(v) for k, v in metrics.items()}
            metrics["eval_return"] = evaluate(
                env, lambda obs, k: algo.act(state, obs, k), key, eval_episodes
            )
        metrics["diverged"] = diverged(state, metrics)
        return RunState(state, eval_key), metrics

    def train(key, hparams, env_params=None):
        run, metrics = jax.lax.scan(
            lambda r, _: period(r, hparams, env_params), init(key, hparams, env_params), length=num_evals
        )
        return run, metrics

    return Trainer(init, period, train, num_evals, updates_per_eval * algo.steps_per_update)
