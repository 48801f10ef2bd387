"""Runs one rejax training config and prints its timings and returns as JSON.

Executed by bench_rejax.py with the interpreter of a separate virtual
environment (rejax 0.1.3 needs gymnax 0.0.9, whose `step` returns five values).

    python rejax_worker.py '{"algo": "dqn", "env": "CartPole-v1", "total_timesteps": 100000, ...}'

Besides rejax's own config keys it takes two that rejax 0.1.3 has no setting for:

  anneal_lr_steps  PPO: anneal the learning rate linearly to 0 over this many env steps, stepwise per
                   iteration (num_envs * num_steps env steps), as PureJaxRL and purerl do:
                   lr (1 - k / iterations) in iteration k, for the actor's and the critic's Adam.
  eval_mean_action SAC: evaluate the deterministic tanh(mean) action, as purerl does, instead of
                   rejax's sampled one (same 128 episodes, same schedule).

The env steps it reports are the ones rejax took (its final `global_step`), which exceed
`total_timesteps` where an evaluation period is not a whole number of iterations.
"""

import json
import sys
import time

import jax
import jax.numpy as jnp
from flax import struct
from rejax import get_algo
from rejax.evaluate import evaluate


class SteppedLinearDecay(struct.PyTreeNode):
    """An optax schedule: lr (1 - (count // steps_per_iteration) / iterations), clipped at 0.

    A pytree (lr is a leaf), so the algorithm stays a valid argument of `jax.jit(cls.train)`.
    """

    lr: float
    steps_per_iteration: int = struct.field(pytree_node=False)  # Adam steps per iteration
    iterations: float = struct.field(pytree_node=False)

    def __call__(self, count):
        done = (count // self.steps_per_iteration) / self.iterations
        return self.lr * (1.0 - jnp.clip(done, 0.0, 1.0))


def with_annealing(algo, anneal_steps: int):
    """PPO whose learning rate anneals over `anneal_steps` env steps, one value per iteration."""
    iterations = anneal_steps / (algo.num_envs * algo.num_steps)
    schedule = SteppedLinearDecay(algo.learning_rate, algo.num_epochs * algo.num_minibatches, iterations)
    return algo.replace(learning_rate=schedule)


def squashed_mean(module, obs):
    """SquashedGaussianPolicy's deterministic action: tanh(mean), scaled to the bounds."""
    mean = module._action_dist(obs).loc
    return module.action_loc + jnp.tanh(mean) * module.action_scale


def with_mean_action_eval(algo):
    """SAC evaluated with the deterministic tanh(mean) action on rejax's 128 episodes."""
    env, env_params = algo.env, algo.env_params

    def eval_callback(algo, ts, rng):
        def act(obs, rng):
            action = algo.actor.apply(ts.actor_ts.params, jnp.expand_dims(obs, 0), method=squashed_mean)
            return jnp.squeeze(action)

        return evaluate(act, rng, env, env_params, 128, env_params.max_steps_in_episode)

    return algo.replace(eval_callback=eval_callback)


def main():
    config = json.loads(sys.argv[1])
    name = config.pop("algo")
    seed = config.pop("seed", 0)
    anneal_steps = config.pop("anneal_lr_steps", None)
    mean_eval = config.pop("eval_mean_action", False)
    cls = get_algo(name)
    algo = cls.create(**config)
    if anneal_steps:
        algo = with_annealing(algo, anneal_steps)
    if mean_eval:
        algo = with_mean_action_eval(algo)
    train = jax.jit(cls.train)
    key = jax.random.PRNGKey(seed)
    start = time.perf_counter()
    jax.block_until_ready(train(algo, key))
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    ts, (lengths, returns) = jax.block_until_ready(train(algo, key))
    run_s = time.perf_counter() - start
    curve = returns.mean(axis=1).tolist()  # [evals]: mean over rejax's 128 eval episodes
    total = int(ts.global_step)
    first = 0 if algo.skip_initial_evaluation else 1  # an evaluation before training, at step 0
    periods = len(curve) - first
    steps = [total * max(0, i + 1 - first) // periods for i in range(len(curve))]
    print(json.dumps({"first_s": first_s, "run_s": run_s, "curve": curve, "steps": steps,
                      "total_steps": total}))


if __name__ == "__main__":
    main()
