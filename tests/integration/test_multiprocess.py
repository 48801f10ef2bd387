"""JAX's multi-process runtime: 2 local CPU processes (coordinator on 127.0.0.1) equal 1 process."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import free_port, host_devices

from purerl.io import records

pytestmark = pytest.mark.slow  # each test starts three JAX processes

# Two host devices per process: 2 processes make the 4-device mesh of one 4-device process.
TWO_DEVICES = host_devices(2)
FOUR_DEVICES = host_devices(4)


def run_processes(args, out, num_processes=2):
    """`purerl ARGS` as `num_processes` processes of one JAX runtime; DIR/p0 holds the results."""
    address = f"127.0.0.1:{free_port()}"
    procs = [
        subprocess.Popen([sys.executable, "-m", "purerl", *args, "--out", str(out / f"p{i}"), "--coordinator",
                          address, "--num-processes", str(num_processes), "--process-id", str(i)],
                         env=TWO_DEVICES, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(num_processes)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * num_processes, "".join(err[-2000:] for _, err in outputs)
    assert not any((out / f"p{i}").exists() for i in range(1, num_processes))  # only the first writes
    return records.read_summary(out / "p0")


def run_one_process(args, out, env):
    done = subprocess.run([sys.executable, "-m", "purerl", *args, "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return records.read_summary(out)


# One algorithm of each family: off-policy with replay, on-policy with sharded actors (A3C, PPO), tabular.
SWEEPS = {
    "dqn": ["--env", "CartPole-v1", "--grid", "lr=0.001,0.0003", "gamma=0.9,0.99", "--total-steps", "256",
            "--set", "num_envs=4", "batch_size=16", "buffer_size=256", "learning_starts=0"],
    "a3c": ["--env", "Acrobot-v1", "--grid", "lr=0.001,0.003", "gamma=0.9,0.99", "--total-steps", "2048",
            "--set", "num_envs=4", "rollout_len=8"],
    "ppo": ["--env", "CartPole-v1", "--grid", "lr=0.001,0.003", "gamma=0.9,0.99", "--total-steps", "2048",
            "--set", "num_envs=4", "rollout_len=16"],
    "q_learning": ["--env", "FrozenLake-misc", "--grid", "lr=0.1,0.3", "gamma=0.9,0.99", "--total-steps",
                   "4096", "--set"],
}


@pytest.mark.parametrize("algo", SWEEPS)
def test_two_processes_give_the_one_process_sweep(tmp_path, algo):
    args = ["sweep", algo, *SWEEPS[algo], "num_evals=2", "eval_episodes=4", "--seeds", "2"]
    distributed = run_processes(args, tmp_path)
    alone = run_one_process(args, tmp_path / "single", FOUR_DEVICES)  # as many devices, in one process
    assert distributed["provenance"]["processes"] == 2
    assert distributed["devices"] == alone["devices"] == 4
    for a, b in zip(distributed["points"], alone["points"], strict=True):
        np.testing.assert_allclose(a["final_return"]["per_seed"], b["final_return"]["per_seed"], rtol=1e-5)


def test_a3c_learner_over_two_processes_equals_one_process_on_as_many_devices(tmp_path):
    args = ["train", "a3c", "--env", "CartPole-v1", "--seeds", "2", "--total-steps", "2000",
            "--set", "num_evals=2", "eval_episodes=8", "num_envs=8", "--devices", "4"]
    distributed = run_processes(args, tmp_path)
    alone = run_one_process(args, tmp_path / "single", FOUR_DEVICES)
    assert distributed["static"]["devices"] == alone["static"]["devices"] == 4
    np.testing.assert_allclose(distributed["final_return"]["per_seed"], alone["final_return"]["per_seed"],
                               rtol=1e-5)
    assert distributed["final_return"]["per_seed"] != [0.0, 0.0]
