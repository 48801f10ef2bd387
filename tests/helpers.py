"""What several test files share: plain functions and constants (fixtures live in conftest.py).

Test files import from here, never from one another; `pythonpath = ["tests"]` in pyproject.toml
makes this module importable from every folder under tests/.
"""

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.config import registry
from purerl.envs import make_env
from purerl.runtime.run import build, prepare

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"  # written by experiments/rliable_reference.py
EXPERIMENTS = TESTS.parent / "experiments"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# A test of a function's maths runs it op by op and compiled: `@JIT def test_x(jit): maybe_jit(f, jit)`.
JIT = pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])


def maybe_jit(fn, jit):
    return jax.jit(fn) if jit else fn


def leaves(tree):
    """The tree's leaves as numpy arrays, PRNG keys as their key data (numpy cannot hold typed keys)."""
    return [np.asarray(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x)
            for x in jax.tree.leaves(tree)]


def device_copies(x):
    """Each device's own buffer of an array (a replicated array has one per device)."""
    return [np.asarray(shard.data) for shard in x.addressable_shards]


def tiny_algorithm(make, defaults, env_id, **settings):
    """The env and an algorithm `make(env, total_steps=10_000, ...)` built on it with `defaults`
    updated by `settings`: small enough to step by hand. A test file binds its own with
    `tiny = functools.partial(tiny_algorithm, make, defaults)`."""
    env = make_env(env_id)
    return env, make(env, total_steps=10_000, **(defaults | settings))


def tiny_job(name, updates_per_eval=2, **overrides):
    """The algorithm on its reference env with a budget of a few updates, on one device (splitting
    A3C's actors over devices is checked in test_a3c.py)."""
    static, traced = registry.static_settings(name), registry.traced_settings(name)
    settings = {"num_evals": 2, "eval_episodes": 4}
    small = {"learning_starts": 0, "buffer_size": 256, "batch_size": 16, "num_envs": 4, "rollout_len": 8,
             "num_minibatches": 2, "update_epochs": 2, "hidden": (16,)}
    settings |= {k: v for k, v in small.items() if k in static or k in traced}
    settings |= overrides
    probe = prepare(name, total_steps=1, settings=settings)
    steps = probe.algorithm.steps_per_update * updates_per_eval * settings["num_evals"]
    return build(prepare(name, total_steps=steps, settings=settings).spec, max_devices=1)


def counting_traces(job):
    """The job with its trainer's init and period counting their traces: {"init": [...], "period": [...]}."""
    traces = {"init": [], "period": []}
    init, period = job.trainer.init, job.trainer.period
    trainer = job.trainer._replace(
        init=lambda key, hp, env=None: (traces["init"].append(None), init(key, hp, env))[1],
        period=lambda run, hp, env=None: (traces["period"].append(None), period(run, hp, env))[1])
    return job._replace(trainer=trainer), traces


def traced_once(traces) -> bool:
    """One compile: init traced once, the period once for its shapes and once for its body at most,
    never again per chunk, point or seed."""
    return len(traces["init"]) == 1 and 1 <= len(traces["period"]) <= 2


def load_experiment(name: str):
    """The script experiments/NAME.py as a module."""
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(*args, env=None):
    """`python -m purerl ARGS` in a fresh process (environment `env`, or this one's)."""
    command = [sys.executable, "-m", "purerl", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def host_devices(n: int) -> dict[str, str]:
    """This process's environment for a child process that sees `n` host CPU devices."""
    return {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n}"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Runs the CLI with `purerl.runtime.MODULE.FUNCTION` wrapped so that its `on_chunk` SIGKILLs the
# process right after the chunk whose progress.COUNTER is AT has been handled (metrics rows and
# checkpoint written): a real kill, at a reproducible point. The module is patched once the process
# has joined any multi-process runtime (it imports gymnax, which starts JAX).
_KILLER = """
import os, signal, sys
import purerl.cli

start_processes = purerl.cli.start_processes

def then_patch(args):
    start_processes(args)
    import purerl.runtime.{module} as module

    function = module.{function}

    def killing(*args, on_chunk, **kwargs):
        def then_kill(progress, *rest):
            on_chunk(progress, *rest)
            if progress.{counter} == {at}:
                os.kill(os.getpid(), signal.SIGKILL)
        return function(*args, on_chunk=then_kill, **kwargs)

    module.{function} = killing

purerl.cli.start_processes = then_patch
sys.exit(purerl.cli.main(sys.argv[1:]))
"""


def killer(at: int, *, sweep: bool = False) -> list[str]:
    """Python arguments (`-c SOURCE`) that run `purerl` killed after evaluation `at` of a train run,
    or after compiled call `at` of a sweep (`sweep`)."""
    where = dict(module="sweep", function="sweep", counter="step") if sweep else \
        dict(module="run", function="train_chunked", counter="period")
    return ["-c", _KILLER.format(at=at, **where)]
