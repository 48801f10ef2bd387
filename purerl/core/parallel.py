"""Data parallelism as a thin layer: one learner whose actors are sharded over devices.

An algorithm's update takes an optional `axis_name`; given one, it averages
its gradients (and metrics) with `lax.pmean` over that axis, as brax's
`loss_and_pgrad` does. `data_parallel` runs such an update under
`jax.shard_map` over a one-axis device mesh (the maintained successor of
`jax.pmap`, with the same SPMD semantics): the learner's fields are
replicated, so every device starts from the same parameters, while the
actors' fields are split along their leading axis. Gradients averaged over
devices of equal shards equal the gradient of the mean over all actors, so
D devices x N actors learn as one learner with D x N actors.

`vmap` of the sharded update (seeds, a hyperparameter sweep) adds an
unsharded batch axis: every device runs all seeds on its own actors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from jax.sharding import AxisType, Mesh, PartitionSpec

AXIS = "devices"  # the mesh axis actors are sharded over
REPLICATED = PartitionSpec()
SHARDED = PartitionSpec(AXIS)


def make_mesh(devices: int, axis: str = AXIS) -> Mesh:
    """A one-axis mesh named `axis` over the first `devices` devices (of every process).

    Raises:
      ValueError: devices is not between 1 and the devices available, or, with several
        processes, not all of them.
    """
    available = jax.device_count()
    if not 1 <= devices <= available:
        raise ValueError(
            f"devices must be between 1 and the {available} available, got {devices}; for N CPU devices "
            "set XLA_FLAGS=--xla_force_host_platform_device_count=N"
        )
    if jax.process_count() > 1 and devices != available:
        raise ValueError(f"with {jax.process_count()} processes the mesh spans all {available} devices, "
                         f"not {devices}")
    return jax.make_mesh((devices,), (axis,), axis_types=(AxisType.Auto,), devices=jax.devices()[:devices])


def divisor_devices(num: int, limit: int | None = None) -> int:
    """The most devices `num` items split over evenly: the largest d <= limit (default
    jax.device_count()) dividing num."""
    limit = jax.device_count() if limit is None else limit
    return max(d for d in range(1, limit + 1) if num % d == 0)


def pmean(tree: Any, axis_name: str | None) -> Any:
    """`lax.pmean` over `axis_name`, or the tree itself when there is none."""
    return tree if axis_name is None else jax.lax.pmean(tree, axis_name)


def gather(tree: Any, axis_name: str | None) -> Any:
    """Every device's [S, ...] arrays concatenated in device order, [devices * S, ...], on every
    device (`lax.all_gather`, tiled); the tree itself when there is no axis."""
    if axis_name is None:
        return tree
    return jax.tree.map(lambda x: jax.lax.all_gather(x, axis_name, axis=0, tiled=True), tree)


def loss_and_pgrad(
    loss_fn: Callable[..., Any], axis_name: str | None = None, has_aux: bool = False
) -> Callable[..., tuple[Any, Any]]:
    """`jax.value_and_grad(loss_fn)` whose gradients are averaged over `axis_name` if given.

    The loss value (and aux) stay per device; average them with `pmean` where needed.
    """
    value_and_grad = jax.value_and_grad(loss_fn, has_aux=has_aux)

    def fn(*args, **kwargs):
        value, grads = value_and_grad(*args, **kwargs)
        return value, pmean(grads, axis_name)

    return fn


def data_parallel(update: Callable[..., Any], devices: int, state_spec: Any) -> Callable[[Any, Any], Any]:
    """Runs `update(state, hparams, axis_name=AXIS)` over `devices` devices.

    Args:
      update: `(state, hparams, axis_name) -> (state, metrics)`; it must pmean
        whatever it returns replicated (gradients, metrics) over `axis_name`.
      devices: number of devices (static).
      state_spec: a pytree prefix of the state with `REPLICATED` (learner
        fields) or `SHARDED` (fields with a leading actor axis, divisible by
        `devices`) at each node.

    Returns:
      `(state, hparams) -> (state, metrics)`; hparams and metrics replicated.
      On one device that is `update` without an axis (pmean over one device
      is the identity), which spares shard_map's compile and copy costs.
    """
    if devices == 1:  # no mesh: in a sweep over processes each device runs whole runs of its own
        return lambda state, hparams: update(state, hparams, axis_name=None)
    mesh = make_mesh(devices)
    # check_vma=False: gradients stay per device until the explicit pmean, as
    # with pmap; scans that build their carry inside would otherwise need pvary.
    return jax.shard_map(
        lambda state, hparams: update(state, hparams, axis_name=AXIS),
        mesh=mesh,
        in_specs=(state_spec, REPLICATED),
        out_specs=(state_spec, REPLICATED),
        check_vma=False,
    )
