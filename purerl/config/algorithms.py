"""What each algorithm declares about itself, as plain data: its settings with their defaults and
ranges, what it requires of an env, and where its factory lives.

Two NamedTuples per algorithm name every setting:

- `HParams`: the **traced** settings. They only enter arithmetic, so the driver turns them into
  arrays and a sweep over them is one `vmap` that compiles once.
- `Static`: the **static** settings. They set shapes or loop lengths (envs, buffer and network sizes,
  switches), so the factory closes over them and each value compiles its own program.

The algorithm module (`purerl/algos/NAME.py`) takes both from here (`HParams = DQN.hparams`) and its
factory `make(env, *, total_steps, **static)` fills what it is not given from `Static`. This module
imports neither JAX nor an env suite: `purerl list` and every check of a setting answer at once.
A variant (TD3, SARSA) is its base's definition with what differs (`settings.with_defaults`).
"""

from __future__ import annotations

from typing import NamedTuple

from purerl.config.settings import (
    FLAG,
    NETWORK,
    NON_NEGATIVE,
    POSITIVE,
    SIZES,
    UNIT,
    Definition,
    Range,
    one_of,
    with_defaults,
)

ACTIVATION = one_of("tanh", "relu")
LOG_STD = Range(-20.0, 2.0)
POLYAK = Range(0.0, 1.0, low_open=True)

# ---- tabular Q-learning and SARSA ----------------------------------------------------------------


class TabularHParams(NamedTuple):
    lr: float = 0.1  # step size alpha at the start
    lr_end: float = 0.01  # step size at the end: falls linearly over the run
    gamma: float = 0.99
    epsilon_start: float = 1.0
    epsilon_end: float = 0.1
    epsilon_decay: float = 0.25  # fraction of the run over which epsilon falls


class TabularStatic(NamedTuple):
    num_envs: int = 16  # envs stepped together


Q_LEARNING = Definition(
    factory="purerl.algos.tabular:make_q_learning", hparams=TabularHParams, static=TabularStatic,
    ranges={"lr": POSITIVE, "lr_end": NON_NEGATIVE, "gamma": UNIT, "epsilon_start": UNIT,
            "epsilon_end": UNIT, "epsilon_decay": UNIT, "num_envs": POSITIVE},
    obs="discrete", actions="discrete", default_env="FrozenLake-misc", default_total_steps=1_000_000,
    evaluation="greedy", summary="tabular Q-learning (Watkins 1989)",
)
SARSA = Q_LEARNING._replace(factory="purerl.algos.tabular:make_sarsa",
                            summary="tabular SARSA (Rummery & Niranjan 1994)")

# ---- DQN -----------------------------------------------------------------------------------------


class DQNHParams(NamedTuple):
    lr: float = 1.5e-4  # Adam step size (2.5e-4 overshoots max Q(s0) to ~290 on CartPole before settling)
    gamma: float = 0.99
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay: float = 0.5  # fraction of the run over which epsilon falls
    tau: float = 1.0  # target <- tau * online + (1 - tau) * target; 1 = hard copy
    target_period: int = 64  # gradient steps between target updates
    learning_starts: int = 10_000  # env steps (all envs together) before the first gradient step
    max_grad_norm: float = 10.0  # global-norm gradient clipping
    huber_delta: float = 1.0  # used with loss="huber"


class DQNStatic(NamedTuple):
    num_envs: int = 8  # envs stepped together
    train_freq: int = 1  # vectorised env steps (of num_envs each) per gradient step
    buffer_size: int = 10_000  # replay capacity in transitions
    batch_size: int = 128  # minibatch of a gradient step; at most buffer_size
    network: str = "auto"  # the Q-network: a network's name, or "auto" (cnn on grids, else mlp)
    hidden: tuple = (120, 84)  # its hidden layer sizes
    double: bool = False  # Double DQN's target (van Hasselt et al. 2016)
    loss: str = "mse"  # "mse" (0.5 td^2) or "huber"


DQN = Definition(
    factory="purerl.algos.dqn:make_dqn", hparams=DQNHParams, static=DQNStatic,
    ranges={
        "lr": POSITIVE, "gamma": UNIT, "epsilon_start": UNIT, "epsilon_end": UNIT, "epsilon_decay": UNIT,
        "tau": POLYAK, "target_period": POSITIVE, "learning_starts": NON_NEGATIVE,
        "max_grad_norm": POSITIVE, "huber_delta": POSITIVE, "num_envs": POSITIVE, "train_freq": POSITIVE,
        "buffer_size": POSITIVE, "batch_size": POSITIVE, "hidden": SIZES, "double": FLAG,
        "network": NETWORK, "loss": one_of("mse", "huber"),
    },
    obs="any", actions="discrete", default_env="CartPole-v1", default_total_steps=500_000,
    evaluation="greedy", summary="deep Q-network with replay and a target network (Mnih et al. 2015)",
)

# ---- REINFORCE -----------------------------------------------------------------------------------


class ReinforceHParams(NamedTuple):
    lr: float = 1e-3  # policy Adam step size
    value_lr: float = 1e-3  # baseline Adam step size
    gamma: float = 0.99
    entropy_coef: float = 0.0  # weight of the entropy bonus


class ReinforceStatic(NamedTuple):
    num_envs: int = 8  # episodes per update, one per env
    network: str = "auto"  # the policy and value networks ("auto": a table on discrete observations)
    hidden: tuple = (64, 64)
    activation: str = "tanh"


REINFORCE = Definition(
    factory="purerl.algos.reinforce:make_reinforce", hparams=ReinforceHParams, static=ReinforceStatic,
    ranges={"lr": POSITIVE, "value_lr": POSITIVE, "gamma": UNIT, "entropy_coef": NON_NEGATIVE,
            "num_envs": POSITIVE, "network": NETWORK, "hidden": SIZES, "activation": ACTIVATION},
    obs="any", actions="discrete", default_env="CartPole-v1", default_total_steps=2_000_000,
    evaluation="sampled", table_network=True, summary="REINFORCE with a learned baseline (Williams 1992)",
)

# ---- A3C and PPO (on-policy actor-critics over devices) -------------------------------------------


class A3CHParams(NamedTuple):
    lr: float = 2e-3  # initial Adam step size
    lr_decay: float = 1.0  # fraction of lr annealed away linearly over the run (paper: 1, to 0)
    gamma: float = 0.99
    gae_lambda: float = 1.0  # 1: n-step returns (A3C); < 1: GAE(lambda)
    value_coef: float = 0.5  # weight of (R - V)^2
    entropy_coef: float = 0.003  # weight of the entropy bonus
    max_grad_norm: float = 0.5  # global-norm gradient clipping
    reward_scale: float = 0.1  # rewards are multiplied by this in the losses (keeps V near unit scale)
    init_log_std: float = -0.5  # Gaussian policies: initial log-std in [-1, 1] action units


class A3CStatic(NamedTuple):
    num_envs: int = 8  # actors in all, split over the devices
    rollout_len: int = 32  # steps per actor per update (n of the n-step returns)
    devices: int = 0  # devices the actors are split over; 0: as many as divide num_envs
    network: str = "auto"  # the policy and value networks
    hidden: tuple = (64, 64)
    activation: str = "tanh"
    state_dependent_std: bool = False  # Gaussian policies: log-std from the network, not a parameter


A3C = Definition(
    factory="purerl.algos.a3c:make_a3c", hparams=A3CHParams, static=A3CStatic,
    ranges={
        "lr": POSITIVE, "lr_decay": UNIT, "gamma": UNIT, "gae_lambda": UNIT, "value_coef": NON_NEGATIVE,
        "entropy_coef": NON_NEGATIVE, "max_grad_norm": POSITIVE, "reward_scale": POSITIVE,
        "init_log_std": LOG_STD, "num_envs": POSITIVE, "rollout_len": POSITIVE,
        "devices": NON_NEGATIVE, "network": NETWORK, "hidden": SIZES, "activation": ACTIVATION,
        "state_dependent_std": FLAG,
    },
    obs="any", actions="any", default_env="CartPole-v1", default_total_steps=500_000,
    evaluation="sampled", summary="synchronous advantage actor-critic over devices (Mnih et al. 2016)",
)


class PPOHParams(NamedTuple):
    lr: float = 2.5e-3  # initial Adam step size
    lr_decay: float = 1.0  # fraction of lr annealed away linearly over the run (1: to 0)
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2  # the policy ratio's clip range
    value_clip_eps: float = 0.2  # V's clip range around V_old; 0: no value clipping
    value_coef: float = 0.5  # weight of the value loss
    entropy_coef: float = 0.01  # weight of the entropy bonus
    max_grad_norm: float = 0.5  # global-norm gradient clipping
    reward_scale: float = 1.0  # rewards are multiplied by this in the losses
    init_log_std: float = 0.0  # Gaussian policies: initial log-std in [-1, 1] action units


class PPOStatic(NamedTuple):
    num_envs: int = 8  # actors in all, split over the devices
    rollout_len: int = 128  # steps per actor per update
    update_epochs: int = 4  # passes over each rollout
    num_minibatches: int = 4  # minibatches per pass, per device
    devices: int = 0  # devices the actors are split over; 0: as many as divide num_envs
    network: str = "auto"  # the policy and value networks
    hidden: tuple = (64, 64)
    activation: str = "tanh"


PPO = Definition(
    factory="purerl.algos.ppo:make_ppo", hparams=PPOHParams, static=PPOStatic,
    ranges={
        "lr": POSITIVE, "lr_decay": UNIT, "gamma": UNIT, "gae_lambda": UNIT, "clip_eps": POSITIVE,
        "value_clip_eps": NON_NEGATIVE, "value_coef": NON_NEGATIVE, "entropy_coef": NON_NEGATIVE,
        "max_grad_norm": POSITIVE, "reward_scale": POSITIVE, "init_log_std": LOG_STD,
        "num_envs": POSITIVE, "rollout_len": POSITIVE, "update_epochs": POSITIVE, "num_minibatches": POSITIVE,
        "devices": NON_NEGATIVE, "network": NETWORK, "hidden": SIZES, "activation": ACTIVATION,
    },
    obs="any", actions="any", default_env="CartPole-v1", default_total_steps=500_000,
    evaluation="sampled",
    summary="proximal policy optimisation, clipped objective, over devices (Schulman et al. 2017)",
)

# ---- DDPG, TD3 and SAC (off-policy, Box actions) -------------------------------------------------


class DDPGHParams(NamedTuple):
    actor_lr: float = 1e-4  # Adam step size of the actor (the paper's)
    critic_lr: float = 1e-3  # Adam step size of the critic (the paper's)
    gamma: float = 0.99
    tau: float = 0.005  # Polyak step of both target networks
    noise_sigma: float = 0.1  # exploration noise scale, as a fraction of the action half-range
    noise_theta: float = 0.15  # OU mean reversion per step (noise="ou")
    learning_starts: int = 1_000  # env steps (all envs together) of uniform random actions first
    target_noise: float = 0.0  # TD3's target-policy smoothing sigma, in half-ranges (0 = off)
    target_noise_clip: float = 0.5  # TD3's c: the smoothing noise is clipped to [-c, c] half-ranges
    policy_delay: int = 1  # TD3: the actor and the targets move every policy_delay-th update (1 = off)


class DDPGStatic(NamedTuple):
    num_envs: int = 1  # envs stepped together
    buffer_size: int = 100_000  # replay capacity in transitions
    batch_size: int = 256  # minibatch of a gradient step; at most buffer_size
    network: str = "auto"  # the actor and critic networks
    hidden: tuple = (64, 64)
    noise: str = "gaussian"  # exploration noise: "gaussian" or "ou" (Ornstein-Uhlenbeck)
    twin: bool = False  # two critics and the min of their targets (TD3's clipped double Q)


DDPG = Definition(
    factory="purerl.algos.ddpg:make_ddpg", hparams=DDPGHParams, static=DDPGStatic,
    ranges={
        "actor_lr": POSITIVE, "critic_lr": POSITIVE, "gamma": UNIT, "tau": POLYAK,
        "noise_sigma": NON_NEGATIVE, "noise_theta": UNIT, "learning_starts": NON_NEGATIVE,
        "target_noise": NON_NEGATIVE, "target_noise_clip": NON_NEGATIVE, "policy_delay": POSITIVE,
        "num_envs": POSITIVE, "buffer_size": POSITIVE, "batch_size": POSITIVE, "network": NETWORK,
        "hidden": SIZES, "noise": one_of("gaussian", "ou"), "twin": FLAG,
    },
    obs="any", actions="continuous", default_env="Pendulum-v1", default_total_steps=20_000,
    evaluation="deterministic", summary="deep deterministic policy gradient (Lillicrap et al. 2016)",
)
TD3 = DDPG._replace(
    hparams=with_defaults(DDPGHParams, "TD3HParams", actor_lr=1e-3, target_noise=0.2, policy_delay=2),
    static=with_defaults(DDPGStatic, "TD3Static", twin=True),
    summary="twin delayed DDPG with target-policy smoothing (Fujimoto et al. 2018)",
)


class SACHParams(NamedTuple):
    actor_lr: float = 1e-3  # Adam step size of the actor
    critic_lr: float = 1e-3  # Adam step size of both critics
    alpha_lr: float = 1e-3  # Adam step size of log alpha (0: alpha stays init_alpha)
    gamma: float = 0.99
    tau: float = 0.005  # Polyak step of the target critics
    init_alpha: float = 1.0  # the temperature at the start
    target_entropy_scale: float = 1.0  # target entropy = -target_entropy_scale * |A|
    learning_starts: int = 1_000  # env steps (all envs together) of uniform random actions first


class SACStatic(NamedTuple):
    num_envs: int = 1  # envs stepped together
    buffer_size: int = 100_000  # replay capacity in transitions
    batch_size: int = 256  # minibatch of a gradient step; at most buffer_size
    network: str = "auto"  # the actor and critic networks (the critics also take the action)
    hidden: tuple = (64, 64)


SAC = Definition(
    factory="purerl.algos.sac:make_sac", hparams=SACHParams, static=SACStatic,
    ranges={
        "actor_lr": POSITIVE, "critic_lr": POSITIVE, "alpha_lr": NON_NEGATIVE, "gamma": UNIT,
        "tau": POLYAK, "init_alpha": POSITIVE, "target_entropy_scale": Range(),
        "learning_starts": NON_NEGATIVE, "num_envs": POSITIVE, "buffer_size": POSITIVE,
        "batch_size": POSITIVE, "network": NETWORK, "hidden": SIZES,
    },
    obs="any", actions="continuous", default_env="Pendulum-v1", default_total_steps=20_000,
    evaluation="deterministic", summary="soft actor-critic with automatic temperature (Haarnoja et al. 2018)",
)
