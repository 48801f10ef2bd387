"""JAX's multi-process runtime: 2 local CPU processes (coordinator on 127.0.0.1) equal 1 process."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import free_port, host_devices, killer

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


def shared_dir_processes(args, out, first, delay=3.0):
    """`purerl ARGS --out OUT` as 2 processes of one runtime writing the same dir, process `first`
    started `delay` seconds before the other; their (exit status, stderr)."""
    address = f"127.0.0.1:{free_port()}"
    procs = {}
    for i in (first, 1 - first):
        procs[i] = subprocess.Popen(
            [sys.executable, "-m", "purerl", *args, "--out", str(out), "--coordinator", address,
             "--num-processes", "2", "--process-id", str(i)],
            env=TWO_DEVICES, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay if i == first else 0)
    return [(procs[i].returncode, err) for i in (0, 1) for _, err in [procs[i].communicate(timeout=300)]]


def test_a_shared_results_dir_is_decided_once_whichever_process_starts_first(tmp_path):
    out = tmp_path / "shared"
    args = ["sweep", "dqn", *SWEEPS["dqn"], "num_evals=2", "eval_episodes=4", "--seeds", "2",
            "--checkpoint-every", "1"]
    # With --eval-seeds the best point's retrain decides on its own dir (OUT/eval) in turn.
    runs = shared_dir_processes([*args, "--eval-seeds", "1"], out, first=1)
    assert [code for code, _ in runs] == [0, 0], "".join(err[-2000:] for _, err in runs)
    assert records.read_summary(out / "eval")["provenance"]["processes"] == 2
    written = (out / "summary.json").read_text()

    # Again into the same dir: both processes refuse with the first one's line; nothing is lost.
    runs = shared_dir_processes(args, out, first=0)
    assert [code for code, _ in runs] == [2, 2]
    line = f"purerl: error: results dir {out} already holds results; pass --overwrite to replace them"
    assert [err.strip().splitlines()[-1] for _, err in runs] == [line, line]
    assert (out / "summary.json").read_text() == written

    runs = shared_dir_processes([*args, "--overwrite"], out, first=1)
    assert [code for code, _ in runs] == [0, 0], "".join(err[-2000:] for _, err in runs)
    assert records.read_summary(out)["provenance"]["processes"] == 2
    assert "--overwrite" in json.loads((out / "config.json").read_text())["provenance"]["command"]


def test_a_learner_over_two_processes_killed_and_resumed_equals_the_run_left_alone(tmp_path):
    args = ["train", "a3c", "--env", "CartPole-v1", "--seeds", "2", "--total-steps", "3000",
            "--set", "num_evals=3", "eval_episodes=8", "num_envs=8", "--devices", "4",
            "--checkpoint-every", "1"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    address, killed_address = (f"127.0.0.1:{free_port()}" for _ in range(2))

    def start(code, out, address, i, extra=()):
        return subprocess.Popen([sys.executable, *code, *extra, "--out", str(out), "--coordinator", address,
                                 "--num-processes", "2", "--process-id", str(i)],
                                env=TWO_DEVICES, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [start(["-m", "purerl", *args], whole, address, i) for i in range(2)]
    procs += [start([*killer(2), *args], killed, killed_address, i) for i in range(2)]
    results = [(p.returncode, err) for p in procs for _, err in [p.communicate(timeout=300)]]
    assert [code for code, _ in results] == [0, 0, -signal.SIGKILL, -signal.SIGKILL], \
        "".join(err[-2000:] for _, err in results)
    assert sorted(p.name for p in (killed / "checkpoints").iterdir()) == ["1", "2"]
    assert not (killed / "summary.json").exists()

    resume_address = f"127.0.0.1:{free_port()}"
    resume = ["-m", "purerl", "train", "--resume", str(killed), "--coordinator", resume_address,
              "--num-processes", "2"]
    resumed = [subprocess.Popen([sys.executable, *resume, "--process-id", str(i)], env=TWO_DEVICES,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = [(p.returncode, err) for p in resumed for _, err in [p.communicate(timeout=300)]]
    assert [code for code, _ in results] == [0, 0], "".join(err[-2000:] for _, err in results)
    assert (killed / "metrics.csv").read_text() == (whole / "metrics.csv").read_text()
    done, alone = records.read_summary(killed), records.read_summary(whole)
    assert done["final_return"] == alone["final_return"] and done["resumed_at_evaluation"] == 2
    assert done["static"]["devices"] == 4 and done["provenance"]["processes"] == 2
