"""The Brax adapter (`--env brax:hopper`, extra `purerl[brax]`): a Brax env behind gymnax 1.x's
per-env API, so the rest of purerl (auto-reset, evaluation, replay, sweeps) treats it as any env.

Brax's own wrappers get episode ends wrong for learning: its `EpisodeWrapper` folds the time limit
into `done` (with `truncation` in `info`), and its `AutoResetWrapper` replaces the observation after
`done` with the episode's *first* observation, so the final observation is lost and every episode
of an env restarts from the same state. purerl wraps the bare env instead: a fall (the env's own
`done`) is termination; the time limit, the env param `max_steps_in_episode` (default 1000, as
Brax's training scripts use), is truncation; the final observation is kept for bootstrapping
(`Transition.next_obs`) and every reset draws a fresh initial state from its own key.

The env params `friction` (scales every geom's sliding friction), `mass_scale` (every body's mass
and inertia) and `gravity` (the downward pull, the env's own by default) are floats, so traced: a
sweep over them (`--grid env.friction=0.5,1.0,1.5`) is one program, each member equal to the run
trained alone with that value.

The physics backend is a constructor kwarg: `--env-kwargs backend=generalized` (default; on CPU
also `mjx`, `spring` or `positional`), as are the env's own ones (`--env-kwargs
terminate_when_unhealthy=false`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces

BACKEND = "generalized"  # Brax's default backend: exact rigid-body dynamics, fine on CPU


@struct.dataclass
class BraxState:
    pipeline: Any  # Brax's `State` (physics state, obs, reward, done, metrics, info)
    time: int  # steps into the episode


@struct.dataclass
class BraxParams:
    max_steps_in_episode: int = 1000
    friction: float = 1.0  # scales every geom's sliding friction
    mass_scale: float = 1.0  # scales every body's mass and rotational inertia
    gravity: float = 9.81  # the downward pull (m/s^2); the env's own by default


class BraxEnv(environment.Environment):
    """A bare Brax env as a gymnax `Environment`: gymnax's `step` adds the time limit and the
    auto-reset, with the final observation in `info["final_observation"]`."""

    def __init__(self, env: Any, name: str):
        self.env, self._name, self.system = env, name, env.sys
        self._gravity = float(-np.asarray(env.sys.gravity)[2])  # the env's own, read outside any trace

    @property
    def name(self) -> str:
        return f"brax:{self._name}"

    @property
    def default_params(self) -> BraxParams:
        return BraxParams(gravity=self._gravity)

    def step_env(self, key, state: BraxState, action, params: BraxParams):
        del key  # Brax's dynamics are deterministic
        with self.physics(params):
            after = self.env.step(state.pipeline, action)
        terminated = after.done > 0.5
        return after.obs, BraxState(after, state.time + 1), after.reward, terminated, {}

    def reset_env(self, key, params: BraxParams):
        with self.physics(params):
            start = self.env.reset(key)
        return start.obs, BraxState(start, jnp.int32(0))

    @contextlib.contextmanager
    def physics(self, params: BraxParams) -> Iterator[None]:
        """Within the block the env's physics take `params`' friction, mass and gravity (traced
        values too: a sweep over them is one program), as Brax's own domain randomisation does, by
        giving the env a changed `System`. The env's own values leave it as it is."""
        given = (params.friction, params.mass_scale, params.gravity)
        if all(isinstance(v, float) for v in given) and given == (1.0, 1.0, self._gravity):
            yield
            return
        system, scale = self.system, params.mass_scale
        down = lambda g: jnp.asarray(g).at[2].set(-params.gravity)
        self.env.sys = system.tree_replace({
            "geom_friction": jnp.asarray(system.geom_friction).at[:, 0].multiply(params.friction),
            "link.inertia.mass": system.link.inertia.mass * scale,
            "link.inertia.i": system.link.inertia.i * scale,
            "body_mass": system.body_mass * scale,
            "body_inertia": system.body_inertia * scale,
            "gravity": down(system.gravity),
            "opt.gravity": down(system.opt.gravity),
        })
        try:
            yield
        finally:
            self.env.sys = system

    def action_space(self, params: BraxParams | None = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (self.env.action_size,), jnp.float32)

    def observation_space(self, params: BraxParams | None = None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (self.env.observation_size,), jnp.float32)


def names() -> list[str]:
    """Every env id of Brax's registry."""
    from brax import envs

    return sorted(envs._envs)  # Brax's registry; it has no public listing


def make(name: str, kwargs: dict) -> tuple[BraxEnv, BraxParams]:
    """The Brax env `name` (e.g. "hopper") with constructor `kwargs`, and its default params."""
    from brax import envs  # imported only when a Brax env is asked for: it is an optional extra

    if name not in names():
        raise ValueError(f"unknown env {name!r} of brax; its envs are: {', '.join(names())}")
    kwargs = {"backend": BACKEND, **kwargs}
    try:
        env = envs.get_environment(name, **kwargs)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"bad --env-kwargs for brax:{name}: {e}") from None
    adapted = BraxEnv(env, name)
    return adapted, adapted.default_params
