"""What every algorithm is to the driver: a bundle of pure functions over an immutable state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

Array = jax.Array


class Algorithm(NamedTuple):
    """What the driver needs of an algorithm; every function is pure.

    init: (key, hparams) -> state.
    update: (state, hparams) -> (state, metrics: dict of scalars); advances
      `steps_per_update` env steps.
    act: (state, obs [N, ...], key) -> action [N, ...], the evaluation policy.
    """

    init: Callable[[Array, Any], Any]
    update: Callable[[Any, Any], tuple[Any, dict[str, Array]]]
    act: Callable[[Any, Array, Array], Array]
    steps_per_update: int
