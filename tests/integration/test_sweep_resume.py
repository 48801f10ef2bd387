"""Sweeps that survive preemption: a chunked sweep SIGKILLed part-way and resumed (`purerl sweep
--resume`) ends bit-identical to the same sweep left alone, in 1 process and in 2 processes of one
JAX runtime (or resumed in 1 process with as many devices); a resume on another device count is
refused in one line."""

import json
import shutil
import signal
import subprocess
import sys

import pytest
from helpers import free_port, host_devices

from purerl.io import records

pytestmark = pytest.mark.slow  # each test starts several JAX processes

# 3 points x 2 seeds = 6 runs in chunks of 4 (the last padded) on 2 devices, 3 evaluations each,
# checkpointed after every evaluation: 2 x 3 compiled calls.
SWEEP = ["sweep", "dqn", "--env", "CartPole-v1", "--grid", "lr=0.003,0.001,0.0003", "--seeds", "2",
         "--total-steps", "1536", "--set", "num_evals=3", "eval_episodes=8", "num_envs=4", "batch_size=16",
         "buffer_size=256", "learning_starts=0", "--chunk-size", "4", "--checkpoint-every", "1"]
TWO_DEVICES = host_devices(2)

# `purerl ARGS` with the sweep's on_chunk wrapped to SIGKILL the process right after call {step}'s
# checkpoint is written (step 4: the second chunk of runs, one evaluation in).
KILLER = """
import os, signal, sys
import purerl.cli

start_processes = purerl.cli.start_processes

def then_patch(args):  # purerl.runtime.sweep imports gymnax, which starts JAX: after jax.distributed
    start_processes(args)
    import purerl.runtime.sweep

    sweep = purerl.runtime.sweep.sweep

    def killing(*args, on_chunk, **kwargs):
        def then_kill(progress):
            on_chunk(progress)
            if progress.step == {step}:
                os.kill(os.getpid(), signal.SIGKILL)
        return sweep(*args, on_chunk=then_kill, **kwargs)

    purerl.runtime.sweep.sweep = killing

purerl.cli.start_processes = then_patch
sys.exit(purerl.cli.main(sys.argv[1:]))
"""

def start(args, kill_at=None, env=TWO_DEVICES):
    code = ["-m", "purerl"] if kill_at is None else ["-c", KILLER.format(step=kill_at)]
    return subprocess.Popen([sys.executable, *code, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(*processes):
    return [(p.returncode, out, err) for p in processes for out, err in [p.communicate(timeout=600)]]


def distributed(args, outs, kill_at=None):
    """`purerl ARGS` as 2 processes of one JAX runtime (2 host devices each); process i gets outs[i]."""
    address = f"127.0.0.1:{free_port()}"
    return [start([*args, *out, "--coordinator", address, "--num-processes", "2", "--process-id", str(i)],
                  kill_at) for i, out in enumerate(outs)]


def outcome(out):
    """What a sweep wrote that must not depend on interruptions: every number, the config."""
    summary = records.read_summary(out)
    for key in ("wall_s", "compile_s", "env_steps_per_s", "provenance"):
        summary.pop(key)
    config = json.loads((out / "config.json").read_text())
    config["provenance"].pop("command")
    return summary, (out / "sweep.csv").read_text(), (out / "metrics.csv").read_text(), config


def test_a_killed_sweep_resumed_equals_the_sweep_left_alone(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    (code, _, err), (killed_code, _, killed_err) = finish(start([*SWEEP, "--out", str(whole)]),
                                                          start([*SWEEP, "--out", str(killed)], kill_at=4))
    assert code == 0, err
    assert killed_code == -signal.SIGKILL, killed_err
    assert not (killed / "summary.json").exists()
    assert sorted(p.name for p in (killed / "checkpoints").iterdir()) == ["3", "4"]

    # Another device count is refused in one line, before anything compiles; nothing is lost.
    one_device = host_devices(1)
    [(code, _, err)] = finish(start(["sweep", "--resume", str(killed)], env=one_device))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "purerl: error: the sweep was checkpointed on 2 device(s) and would now run on 1: resume it on 2 "
        "(split otherwise, its runs would not end bit-identical)")
    assert sorted(p.name for p in (killed / "checkpoints").iterdir()) == ["3", "4"]

    [(code, stdout, err)] = finish(start(["sweep", "--resume", str(killed)]))
    assert code == 0, err
    assert "best point" in stdout
    assert outcome(killed) == outcome(whole)
    [(code, stdout, _)] = finish(start(["sweep", "--resume", str(killed)]))
    assert code == 0 and "has finished" in stdout


def test_a_killed_two_process_sweep_resumed_equals_the_sweep_left_alone(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    runs = distributed(SWEEP, [["--out", str(whole / f"p{i}")] for i in range(2)])
    runs += distributed(SWEEP, [["--out", str(killed / f"p{i}")] for i in range(2)], kill_at=4)
    results = finish(*runs)
    assert [code for code, _, _ in results[:2]] == [0, 0], results[0][2][-2000:] + results[1][2][-2000:]
    assert results[2][0] == -signal.SIGKILL, results[2][2][-2000:]
    assert not (killed / "p1").exists() and not (killed / "p0" / "summary.json").exists()

    # Both processes continue from the first one's results dir; a copy continues in one process with
    # as many devices (4), which is as good.
    shutil.copytree(killed / "p0", tmp_path / "one-process")
    four_devices = host_devices(4)
    alone = start(["sweep", "--resume", str(tmp_path / "one-process")], env=four_devices)
    resumed = finish(*distributed(["sweep", "--resume", str(killed / "p0")], [[], []]), alone)
    assert [code for code, _, _ in resumed] == [0, 0, 0], "".join(err[-2000:] for _, _, err in resumed)
    assert outcome(killed / "p0") == outcome(whole / "p0")
    assert outcome(tmp_path / "one-process") == outcome(whole / "p0")
    assert records.read_summary(whole / "p0")["devices"] == 4
