"""A run is data: `JobSpec`, the one record of what a run is.

    spec = JobSpec.create("dqn", "CartPole-v1", total_steps=100_000, settings={"lr": 3e-4}, seeds=range(4))
    spec == JobSpec.from_json(spec.to_json())   # exact round trip
    result = purerl.train(spec)                 # the same numbers as `purerl train --config FILE`

A spec names the algorithm, the env with its constructor kwargs, EnvParams fields and sticky-action
probability, the discretisation, the env steps
per seed, every setting of the algorithm (defaults filled in, so a spec means the same run whatever
a later version's defaults are) and the seeds. `create` checks every name, type and range against
what the algorithm declares (`registry.resolve`), before anything is built or compiled. A results
dir's `config.json` holds the spec (plus provenance); `--resume` and `--config` read it back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

FORMAT = "purerl.JobSpec/1"  # what a spec file says it is; a later layout gets a new number


def _frozen(value: Any) -> Any:
    """Lists as tuples, all the way down (a spec's values compare and hash by value)."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, Mapping):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def jsonable(value: Any) -> Any:
    """Tuples as lists, all the way down (what JSON writes)."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def _steps(value: Any, what: str) -> int:
    """A positive integer; integral floats such as 1e6 (how budgets are written) are accepted."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"{what} must be a positive integer, got {value!r}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """Everything that makes a run what it is; build it with `JobSpec.create` or `from_dict`."""

    algo: str
    env: str
    env_kwargs: dict  # gymnax constructor kwargs
    discretize: dict | None  # {"bins": (...), "bounds": ((lo, hi), ...) or None}, or None
    total_steps: int  # env steps per seed, as asked (the run rounds down to whole updates)
    settings: dict  # every setting of the algorithm, static and traced
    seeds: tuple[int, ...]
    env_params: dict = dataclasses.field(default_factory=dict)  # EnvParams fields set (floats are traced)
    sticky_actions: float = 0.0  # probability the env repeats the previous action (MinAtar's protocol: 0.1)

    @classmethod
    def create(
        cls,
        algo: str,
        env: str | None = None,
        env_kwargs: Mapping | None = None,
        *,
        total_steps: int | float | str | None = None,
        settings: Mapping | None = None,
        seeds: Sequence[int] = (0,),
        bins: Sequence[int] | None = None,
        bounds: Sequence[Sequence[float]] | None = None,
        env_params: Mapping | None = None,
        sticky_actions: float = 0.0,
    ) -> JobSpec:
        """A checked spec; settings not given take the algorithm's defaults. `env_params` are
        checked against the env's fields when the job is built.

        Raises:
          ValueError: one line naming the problem (unknown algorithm or setting, a value of the
            wrong type or out of its range, a bad budget or seed).
        """
        from purerl.config import registry, suites

        definition = registry.definition(algo)
        if env is not None and not isinstance(env, str):
            raise ValueError(f"env must be an env id (e.g. CartPole-v1, brax:hopper), got {env!r}")
        if env is not None:  # a suite purerl adapts, and installed: refused here in one line, at once
            suites.check_installed(suites.split(env)[0])
        if env_kwargs is not None and not isinstance(env_kwargs, Mapping):
            raise ValueError(f"env_kwargs must be a mapping of name to value, got {env_kwargs!r}")
        if settings is not None and not isinstance(settings, Mapping):
            raise ValueError(f"settings must be a mapping of name to value, got {settings!r}")
        if env_params is not None and not isinstance(env_params, Mapping):
            raise ValueError(f"env_params must be a mapping of name to value, got {env_params!r}")
        if (isinstance(sticky_actions, bool) or not isinstance(sticky_actions, (int, float))
                or not 0.0 <= sticky_actions <= 1.0):
            raise ValueError(f"sticky actions must be a probability in [0, 1], got {sticky_actions!r}")
        total = definition.default_total_steps if total_steps is None else _steps(total_steps, "total steps")
        if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence | range):
            raise ValueError(f"seeds must be a list of integers, got {seeds!r}")
        seeds = tuple(seeds)
        if not seeds:
            raise ValueError("need at least one seed")
        for seed in seeds:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
                raise ValueError(f"a seed must be an integer in [0, 2^32), got {seed!r}")
        if len(set(seeds)) < len(seeds):
            raise ValueError(f"seeds must differ, got {list(seeds)}")
        if bounds is not None and bins is None:
            raise ValueError("bounds given without bins: the discretiser needs bins")
        discretize = None
        if bins is not None:
            discretize = {"bins": _frozen(bins), "bounds": None if bounds is None else _frozen(bounds)}
        resolved = registry.resolve(algo, dict(settings or {}))
        return cls(algo, env or definition.default_env, _frozen(dict(env_kwargs or {})), discretize, total,
                   _frozen(resolved), seeds, _frozen(dict(env_params or {})), float(sticky_actions))

    def replace(self, **changes) -> JobSpec:
        """A checked copy with some fields changed (as `to_dict` names them); `settings` are merged."""
        data = self.to_dict()
        data["settings"] = {**data["settings"], **jsonable(changes.pop("settings", {}))}
        return JobSpec.from_dict(data | jsonable(changes))

    def to_dict(self) -> dict:
        """The spec as JSON-ready data, tagged with `FORMAT`."""
        return {
            "format": FORMAT,
            "algo": self.algo,
            "env": self.env,
            "env_kwargs": jsonable(self.env_kwargs),
            "discretize": jsonable(self.discretize),
            "total_steps": self.total_steps,
            "settings": jsonable(self.settings),
            "seeds": list(self.seeds),
            "env_params": jsonable(self.env_params),
            "sticky_actions": self.sticky_actions,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "the spec") -> JobSpec:
        """Reads `to_dict`'s output back, checking it as `create` does.

        Raises:
          ValueError: not a spec, a spec of another format, fields this version does not know,
            missing fields, or a value `create` refuses.
        """
        if not isinstance(data, Mapping) or "algo" not in data or "format" not in data:
            raise ValueError(f"{source} is not a purerl job spec (a JSON object with format {FORMAT!r}, "
                             "algo, env, ...)")
        if data["format"] != FORMAT:
            raise ValueError(f"{source} is a spec of format {data['format']!r}; this purerl reads {FORMAT!r}")
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - {"format", *fields})
        if unknown:
            raise ValueError(f"{source} has fields this purerl does not know: {', '.join(unknown)}")
        optional = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
                    or f.default_factory is not dataclasses.MISSING}  # added later: older specs lack them
        missing = [f for f in fields if f not in data and f not in optional]
        if missing:
            raise ValueError(f"{source} lacks the fields {', '.join(missing)}")
        discretize = data["discretize"]
        if discretize is not None and (not isinstance(discretize, Mapping)
                                       or set(discretize) != {"bins", "bounds"}):
            raise ValueError(f"{source}: discretize must be null or an object with bins and bounds")
        try:
            return cls.create(
                data["algo"], data["env"], data["env_kwargs"], total_steps=data["total_steps"],
                settings=data["settings"], seeds=data["seeds"],
                bins=None if discretize is None else discretize["bins"],
                bounds=None if discretize is None else discretize["bounds"],
                env_params=data.get("env_params"), sticky_actions=data.get("sticky_actions", 0.0),
            )
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "the spec") -> JobSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{source} is not valid JSON ({e})") from None
        return cls.from_dict(data, source)

    @property
    def num_seeds(self) -> int:
        return len(self.seeds)

    def static(self) -> dict:
        """The settings that set shapes or loop lengths."""
        from purerl.config import registry

        return registry.split(self.algo, self.settings)[0]

    def traced(self) -> dict:
        """The settings that only enter arithmetic (the sweepable ones)."""
        from purerl.config import registry

        return registry.split(self.algo, self.settings)[1]
