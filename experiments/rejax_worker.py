"""Runs one rejax training config and prints its timings and returns as JSON.

Executed by bench_rejax.py with the interpreter of a separate virtual
environment (rejax 0.1.3 needs gymnax 0.0.9, whose `step` returns five values).

    python rejax_worker.py '{"algo": "dqn", "env": "CartPole-v1", "total_timesteps": 100000, ...}'
"""

import json
import sys
import time

import jax
from rejax import get_algo


def main():
    config = json.loads(sys.argv[1])
    name = config.pop("algo")
    seed = config.pop("seed", 0)
    cls = get_algo(name)
    algo = cls.create(**config)
    train = jax.jit(cls.train)
    key = jax.random.PRNGKey(seed)
    start = time.perf_counter()
    jax.block_until_ready(train(algo, key))
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    _, (lengths, returns) = jax.block_until_ready(train(algo, key))
    run_s = time.perf_counter() - start
    curve = returns.mean(axis=1).tolist()  # [evals]: mean over rejax's 128 eval episodes
    steps = [i * algo.eval_freq for i in range(len(curve))]  # the first evaluation is before training
    print(json.dumps({"first_s": first_s, "run_s": run_s, "curve": curve, "steps": steps,
                      "total_steps": algo.total_timesteps}))


if __name__ == "__main__":
    main()
