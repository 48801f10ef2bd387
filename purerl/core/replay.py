"""A uniform replay buffer as a pure pytree (Lin 1992; Mnih et al. 2015).

Fixed-capacity circular storage over any pytree of arrays (an item), e.g. an
`envs.Transition` with `terminated` and `truncated` kept apart and the
pre-reset `next_obs`. Everything is a pure function of a `BufferState`, so the
buffer lives inside a scanned algorithm state and vmaps over seeds.

    buffer = replay.init(example_transition, capacity=10_000)
    buffer = replay.add(buffer, transition)  # leading axis = vmapped envs
    batch = replay.sample(buffer, key, batch_size=128)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class BufferState(NamedTuple):
    data: Any  # pytree of [capacity, *item_shape] arrays
    pointer: Array  # [] int32 slot the next item is written to
    size: Array  # [] int32 filled slots, at most capacity


def num_slots(state: BufferState) -> int:
    """The buffer's capacity (static)."""
    return jax.tree.leaves(state.data)[0].shape[0]


def init(example_item: Any, capacity: int) -> BufferState:
    """An empty buffer whose slots have the shapes and dtypes of one item.

    Args:
      example_item: pytree of arrays shaped like a single item (no batch axis);
        only shapes and dtypes are read.
      capacity: number of slots (static).
    """
    if capacity <= 0:
        raise ValueError(f"replay capacity must be positive, got {capacity}")
    data = jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.result_type(x)), example_item)
    return BufferState(data, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def add(state: BufferState, batch: Any) -> BufferState:
    """Writes a batch of items at the pointer, wrapping around and overwriting the oldest.

    Args:
      state: the buffer.
      batch: pytree like the example item with a leading axis [B] (B <= capacity),
        e.g. one step of B vmapped envs; every add to a buffer has the same B.
    """
    slots_total = num_slots(state)
    num = jax.tree.leaves(batch)[0].shape[0]
    if num > slots_total:
        raise ValueError(f"cannot add {num} items to a replay buffer of capacity {slots_total}")
    if slots_total % num == 0:
        # The pointer stays a multiple of `num`, so the slots are one contiguous block: an in-place
        # slice update (a scatter into a large buffer can copy it whole on every add on CPU).
        write = lambda store, x: jax.lax.dynamic_update_slice_in_dim(store, x.astype(store.dtype),
                                                                    state.pointer, 0)
    else:
        slots = (state.pointer + jnp.arange(num, dtype=jnp.int32)) % slots_total
        write = lambda store, x: store.at[slots].set(x.astype(store.dtype), unique_indices=True)
    data = jax.tree.map(write, state.data, batch)
    return BufferState(data, (state.pointer + num) % slots_total, jnp.minimum(state.size + num, slots_total))


def sample(state: BufferState, key: Array, batch_size: int) -> Any:
    """Draws `batch_size` items uniformly, with replacement, from the filled slots.

    Args:
      state: the buffer; must hold at least one item (an empty buffer returns
        the zero-filled slot 0).
      key: PRNG key.
      batch_size: number of items (static).

    Returns:
      pytree like the example item with a leading axis [batch_size].
    """
    # One 32-bit draw per index (randint draws two): the modulo bias is below
    # capacity / 2**32, and on CPU the PRNG is a visible share of a DQN step.
    bits = jax.random.bits(key, (batch_size,), jnp.uint32)
    idx = (bits % jnp.maximum(state.size, 1).astype(jnp.uint32)).astype(jnp.int32)
    return jax.tree.map(lambda store: store[idx], state.data)
