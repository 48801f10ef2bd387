"""Networks by name: an observation encoder and a torso + head, chosen by a static `network` setting.

An algorithm asks for "a network for this env" (in the manner of brax's `network_factory`):

    q_network = networks.make("mlp", env, outputs=env.num_actions, hidden=(64, 64))
    params = q_network.init(key, obs)  # obs: [..., *env.obs_shape], raw from the env
    q = q_network.apply(params, obs)  # [..., outputs]

Observations are preprocessed in one place, `encoder(env)`: discrete observations are one-hot
encoded, anything of rank > 1 is flattened (except for the `cnn`, which keeps H x W x C grids),
and everything is cast to float32. `"auto"` picks by the observation space (`choose`): the `cnn`
on H x W x C grids (MinAtar), the `mlp` on everything else (one-hot vectors, flat vectors, small
matrices such as Catch's 10 x 5 and DeepSea's N x N). Flax parameters are plain pytrees that live in
the algorithm states. Adding a network is one entry in `NETWORKS`: a function
`(env, *, outputs, hidden, activation, last_scale, extra_inputs) -> Network` that raises ValueError
with one line where the env does not suit it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from purerl.envs import Env

Array = jax.Array


class MLP(nn.Module):
    """Dense layers with an activation between them; the last layer is linear.

    Attributes:
      features: hidden sizes followed by the output size.
      activation: hidden nonlinearity.
      last_scale: scale of the last layer's initial weights (small for policy
        heads, so the initial policy is near uniform / near zero).
    """

    features: Sequence[int]
    activation: str = "relu"
    last_scale: float = 1.0

    @nn.compact
    def __call__(self, x: Array) -> Array:
        act = getattr(nn, self.activation)
        x = x.astype(jnp.float32)
        for size in self.features[:-1]:
            x = act(nn.Dense(size)(x))
        init = nn.initializers.variance_scaling(self.last_scale, "fan_avg", "uniform")
        return nn.Dense(self.features[-1], kernel_init=init)(x)


class Conv(nn.Module):
    """A stride-1 convolution without padding, computed as image patches times a matrix.

    The same numbers as `nn.Conv(features, kernel_size, padding="VALID")` (and the same kernel
    shape and initialiser), but its gradient is a matrix product: on XLA's CPU backend the kernel
    gradient of `nn.Conv` inside a training loop runs about ten times slower than this
    (experiments/bench_minatar.py measures the training rate).

    Attributes:
      features: output channels.
      kernel_size: (height, width) of the window.
    """

    features: int
    kernel_size: tuple[int, int] = (3, 3)

    @nn.compact
    def __call__(self, x: Array) -> Array:
        """[..., H, W, C] -> [..., H - kh + 1, W - kw + 1, features]."""
        shape = (*self.kernel_size, x.shape[-1], self.features)
        kernel = self.param("kernel", nn.initializers.lecun_normal(), shape)
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        lead, grid = x.shape[:-3], x.reshape(-1, *x.shape[-3:])
        patches = jax.lax.conv_general_dilated_patches(  # features ordered (channel, row, column)
            grid, self.kernel_size, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        matrix = jnp.transpose(kernel, (2, 0, 1, 3)).reshape(-1, self.features)
        y = patches @ matrix + bias
        return y.reshape(*lead, *y.shape[1:])


class CNN(nn.Module):
    """The MinAtar network (Young & Tian 2019): one 3x3 convolution with 16 channels, stride 1, no
    padding, ReLU, flattened, then dense layers (the paper: one of 128 units) and a linear output.

    Attributes:
      features: dense hidden sizes followed by the output size.
      activation: nonlinearity after the convolution and each hidden dense layer.
      last_scale: scale of the last layer's initial weights.
    """

    features: Sequence[int]
    activation: str = "relu"
    last_scale: float = 1.0
    channels: int = 16

    @nn.compact
    def __call__(self, grid: Array, *extra: Array) -> Array:
        act = getattr(nn, self.activation)
        x = act(Conv(self.channels, (3, 3))(grid.astype(jnp.float32)))
        x = x.reshape(*x.shape[:-3], -1)
        x = jnp.concatenate([x, *extra], -1) if extra else x
        return MLP(self.features, self.activation, self.last_scale)(x)


class Table(nn.Module):
    """One learnable row per discrete observation: a tabular policy or value function.

    Attributes:
      num_obs: number of discrete observations.
      features: row size (actions for logits, 1 for a value).
    """

    num_obs: int
    features: int

    @nn.compact
    def __call__(self, obs: Array) -> Array:
        table = self.param("table", nn.initializers.zeros, (self.num_obs, self.features))
        return table[obs]


def encoder(env: Env, flatten: bool = True) -> Callable[[Array], Array]:
    """The env's observation preprocessing: [..., *obs_shape] -> [..., features] float32.

    Discrete observations (`env.num_obs`) become one-hot vectors; observations of rank > 1 (a
    bsuite matrix, a MinAtar grid) are flattened after the leading batch axes, unless `flatten`
    is False (a convolutional torso keeps the grid, [..., H, W, C]).
    """
    rank = len(env.obs_shape)

    def encode(obs: Array) -> Array:
        if env.num_obs is not None:
            return jax.nn.one_hot(obs, env.num_obs, dtype=jnp.float32)
        x = obs.astype(jnp.float32)
        return x if rank == 1 or not flatten else x.reshape(*x.shape[: x.ndim - rank], -1)

    return encode


class Network(NamedTuple):
    """A flax module over an env's raw observations.

    `init(key, obs, *extra)` and `apply(params, obs, *extra)` take observations as the env gives
    them, [..., *obs_shape]; `extra` are float features [..., F] concatenated after the encoded
    observation (a critic's action).
    """

    module: nn.Module
    encode: Callable[[Array], Array]
    flat: bool = True  # the module takes one feature vector; else (encoded obs, *extra) apart

    def inputs(self, obs: Array, *extra: Array) -> tuple[Array, ...]:
        x = self.encode(obs)
        if not self.flat:
            return (x, *extra)
        return (jnp.concatenate([x, *extra], -1) if extra else x,)

    def init(self, key: Array, obs: Array, *extra: Array) -> Any:
        return self.module.init(key, *self.inputs(obs, *extra))

    def apply(self, params: Any, obs: Array, *extra: Array) -> Array:
        return self.module.apply(params, *self.inputs(obs, *extra))


def mlp(env: Env, *, outputs: int, hidden: Sequence[int], activation: str, last_scale: float,
        extra_inputs: int) -> Network:
    """An MLP on the encoded observation (and any extra inputs)."""
    del extra_inputs
    return Network(MLP((*hidden, outputs), activation, last_scale), encoder(env))


def table(env: Env, *, outputs: int, hidden: Sequence[int], activation: str, last_scale: float,
          extra_inputs: int) -> Network:
    """A zero-initialised row of `outputs` per discrete observation; `hidden` and the rest are unused."""
    del hidden, activation, last_scale
    if env.num_obs is None:
        raise ValueError(f"the table network needs discrete observations; {env.id} has shape {env.obs_shape}")
    if extra_inputs:
        raise ValueError(f"the table network takes a discrete observation alone, not {extra_inputs} "
                         "more inputs")
    return Network(Table(env.num_obs, outputs), lambda obs: obs)


def cnn(env: Env, *, outputs: int, hidden: Sequence[int], activation: str, last_scale: float,
        extra_inputs: int) -> Network:
    """The MinAtar CNN on H x W x C grids; extra inputs join after the convolution."""
    del extra_inputs
    if env.num_obs is not None or len(env.obs_shape) != 3 or min(env.obs_shape[:2]) < 3:
        shape = "x".join(map(str, env.obs_shape)) or "scalar"
        raise ValueError(f"the cnn network needs H x W x C grid observations (H, W >= 3); {env.id}'s are "
                         f"{shape}{' discrete' if env.num_obs is not None else ''}: use mlp")
    return Network(CNN((*hidden, outputs), activation, last_scale), encoder(env, flatten=False), flat=False)


NETWORKS: dict[str, Callable[..., Network]] = {"mlp": mlp, "table": table, "cnn": cnn}
AUTO = "auto"  # the `network` setting that lets `choose` pick


def choose(env: Env, table: bool = False) -> str:
    """The network "auto" means on this env: cnn on H x W x C grids, else mlp (or, with `table`,
    a table on discrete observations)."""
    if env.num_obs is not None:
        return "table" if table else "mlp"
    return "cnn" if len(env.obs_shape) == 3 and min(env.obs_shape[:2]) >= 3 else "mlp"


def make(
    name: str,
    env: Env,
    *,
    outputs: int,
    hidden: Sequence[int] = (64, 64),
    activation: str = "relu",
    last_scale: float = 1.0,
    extra_inputs: int = 0,
) -> Network:
    """The network `name` for this env.

    Args:
      name: a key of `NETWORKS`, or "auto" (`choose`).
      env: the environment whose observations the network takes.
      outputs: size of the last axis of the output.
      hidden: hidden layer sizes.
      activation: hidden nonlinearity (a flax.linen function name).
      last_scale: scale of the output layer's initial weights.
      extra_inputs: float features concatenated to the observation (e.g. a critic's action).

    Raises:
      ValueError: an unknown name, or a network that cannot take this env's observations.
    """
    name = choose(env) if name == AUTO else name
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; choose from {AUTO}, {', '.join(NETWORKS)}")
    return NETWORKS[name](env, outputs=outputs, hidden=tuple(hidden), activation=activation,
                          last_scale=last_scale, extra_inputs=extra_inputs)
