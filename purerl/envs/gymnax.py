"""The gymnax adapter: every gymnax 1.x env by id, with its EnvParams as (traced) settings, the
discretiser and sticky actions.

gymnax 1.x auto-resets inside `step` and reports `terminated` and `truncated` apart, with the
pre-reset observation in `info["final_observation"]`, which `Env.step` returns as `next_obs`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from typing import Any

import gymnax
import jax
import numpy as np

_UNBOUNDED = 1e30  # gymnax writes "unbounded" as float32 max.

# Envs whose observations are 0/1 grids that gymnax casts to float32: a replay buffer stores them as
# bool (a quarter of the bytes), exactly. The env tests check the values on random rollouts.
BINARY_OBS = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
              "SpaceInvaders-MinAtar", "Catch-bsuite", "DeepSea-bsuite")


@functools.cache
def check_gymnax() -> None:
    """Raises ValueError unless `gymnax` is gymnax 1.x, whose `step` returns six values.

    Some packages (stable-gymnax) install a module of the same name with the old five-value
    `step` (no `truncated`), which would train on wrong bootstraps or fail deep inside JAX.
    """
    try:
        env, params = gymnax.make("CartPole-v1")
        obs, state = jax.eval_shape(env.reset, jax.random.key(0), params)
        out = jax.eval_shape(env.step, jax.random.key(0), state, 0, params)
    except Exception as e:  # an API this purerl does not know fails anywhere in there
        raise ValueError(f"the installed gymnax does not work as gymnax 1.x ({type(e).__name__}: {e}); "
                         "reinstall it with pip install --force-reinstall 'gymnax>=1.0'") from None
    if len(out) != 6:
        raise ValueError(
            f"the installed gymnax's step returns {len(out)} values, not gymnax 1.x's 6 (obs, state, reward, "
            "terminated, truncated, info): another package (e.g. stable-gymnax) replaced it; "
            "reinstall it with pip install --force-reinstall 'gymnax>=1.0'")


def env_param_fields(params: Any) -> dict[str, str]:
    """The settable EnvParams fields by kind: "float" (traced), "int" or "bool" (static)."""
    kinds = {}
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        if np.ndim(value) != 0:
            continue  # array-valued fields (Acrobot's torques) are not settable one by one
        value = np.asarray(value)
        kinds[field.name] = {"b": "bool", "i": "int", "u": "int"}.get(value.dtype.kind, "float")
    return kinds


def set_params(env_id: str, params: Any, values: Mapping[str, Any]) -> tuple[Any, tuple[str, ...]]:
    """EnvParams with `values` set, checked; returns (params, the float fields given: traced)."""
    kinds = env_param_fields(params)
    changes, traced = {}, []
    for name, value in values.items():
        if name not in kinds:
            raise ValueError(f"{env_id} has no env param {name!r}; its params are: {', '.join(kinds)}")
        kind = kinds[name]
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"env param {name} of {env_id} takes true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"env param {name} of {env_id} takes a finite number, got {value!r}")
        elif kind == "int":
            if not float(value).is_integer():
                raise ValueError(f"env param {name} of {env_id} takes an integer, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            traced.append(name)
        changes[name] = value
    if changes.get("max_steps_in_episode", 1) < 1:
        given = values["max_steps_in_episode"]
        raise ValueError(f"env param max_steps_in_episode must be positive, got {given!r}")
    return params.replace(**changes), tuple(traced)


def make(name: str, kwargs: dict) -> tuple[Any, Any]:
    """The gymnax env `name` (e.g. "CartPole-v1") with constructor `kwargs`, and its default params."""
    check_gymnax()
    if name not in gymnax.registered_envs:
        raise ValueError(f"unknown env {name!r}; gymnax envs are: {', '.join(gymnax.registered_envs)}")
    try:
        return gymnax.make(name, **kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"bad --env-kwargs for {name}: {e}") from None
    except OSError as e:  # MNISTBandit downloads MNIST inside gymnax.make
        raise ValueError(f"{name} could not be made: gymnax.make downloads its data and that failed "
                         f"({' '.join(str(e).split())})") from None


def names() -> list[str]:
    """Every env id of gymnax's registry."""
    return list(gymnax.registered_envs)
