"""Sweeps that survive preemption: a chunked sweep SIGKILLed part-way and resumed (`purerl sweep
--resume`) ends bit-identical to the same sweep left alone, in 1 process and in 2 processes of one
JAX runtime (or resumed in 1 process with as many devices); a resume on another device count is
refused in one line."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
from helpers import free_port, host_devices, killer

from purerl.io import records

pytestmark = pytest.mark.slow  # each test starts several JAX processes

# 3 points x 2 seeds = 6 runs in chunks of 4 (the last padded) on 2 devices, 3 evaluations each,
# checkpointed after every evaluation: 2 x 3 compiled calls.
SWEEP = ["sweep", "dqn", "--env", "CartPole-v1", "--grid", "lr=0.003,0.001,0.0003", "--seeds", "2",
         "--total-steps", "1536", "--set", "num_evals=3", "eval_episodes=8", "num_envs=4", "batch_size=16",
         "buffer_size=256", "learning_starts=0", "--chunk-size", "4", "--checkpoint-every", "1"]
TWO_DEVICES = host_devices(2)
PEER_TIMEOUT = 30  # seconds without a sign of a peer before it is called lost

def start(args, kill_at=None, env=TWO_DEVICES):
    code = ["-m", "purerl"] if kill_at is None else killer(kill_at, sweep=True)
    return subprocess.Popen([sys.executable, *code, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(*processes):
    return [(p.returncode, out, err) for p in processes for out, err in [p.communicate(timeout=600)]]


def distributed(args, outs, kill_at=(None, None)):
    """`purerl ARGS` as 2 processes of one JAX runtime (2 host devices each); process i gets outs[i]
    and is killed after call kill_at[i]'s checkpoint."""
    address = f"127.0.0.1:{free_port()}"
    return [start([*args, *out, "--coordinator", address, "--num-processes", "2", "--process-id", str(i),
                   "--peer-timeout", str(PEER_TIMEOUT)], kill)
            for i, (out, kill) in enumerate(zip(outs, kill_at, strict=True))]


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


def test_a_process_lost_mid_sweep_stops_its_peer_in_one_line_and_both_resume_to_the_sweep_alone(tmp_path):
    """Both processes write one shared results dir; process 1 is SIGKILLed after the 4th checkpoint."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    runs = distributed(SWEEP, [["--out", str(whole)]] * 2)
    runs += distributed(SWEEP, [["--out", str(killed)]] * 2, kill_at=(None, 4))
    runs[3].wait(timeout=600)  # the outputs are small: the pipes do not fill up meanwhile
    lost_at = time.monotonic()
    runs[2].wait(timeout=600)
    took = time.monotonic() - lost_at
    results = finish(*runs)
    assert [code for code, _, _ in results[:2]] == [0, 0], results[0][2][-2000:] + results[1][2][-2000:]
    (survivor, _, survivor_err), (lost, _, lost_err) = results[2:]
    assert lost == -signal.SIGKILL, lost_err[-2000:]
    # The survivor stops within the timeout of its peer's loss, with one line and no traceback.
    assert survivor == 3, survivor_err[-2000:]
    assert took < PEER_TIMEOUT + 15, took
    assert "Traceback" not in survivor_err and "stack trace" not in survivor_err
    line = survivor_err.strip().splitlines()[-1]
    # The last complete checkpoint: the 4th, or the 3rd if the kill came while the 4th was being written.
    named = [f"{killed / 'checkpoints' / str(step)}; " for step in (3, 4)]
    assert any(line.startswith(f"purerl: error: process 1 of 2 is lost (no sign of it for {PEER_TIMEOUT} s, "
                               f"--peer-timeout); last complete checkpoint {last}") for last in named), line
    assert line.split("checkpoint ")[1].split(";")[0] == str(killed / "checkpoints" / max(
        (p.name for p in (killed / "checkpoints").iterdir() if p.name.isdigit()), key=int))
    assert line.endswith(f"continue with: purerl sweep --resume {killed} on every process, with its process "
                         "flags"), line
    assert not (killed / "summary.json").exists()

    # Both processes continue from the shared results dir; a copy continues in one process with as
    # many devices (4), which is as good.
    shutil.copytree(killed, tmp_path / "one-process")
    four_devices = host_devices(4)
    alone = start(["sweep", "--resume", str(tmp_path / "one-process")], env=four_devices)
    resumed = finish(*distributed(["sweep", "--resume", str(killed)], [[], []]), alone)
    assert [code for code, _, _ in resumed] == [0, 0, 0], "".join(err[-2000:] for _, _, err in resumed)
    assert outcome(killed) == outcome(whole)
    assert outcome(tmp_path / "one-process") == outcome(whole)
    assert records.read_summary(whole)["devices"] == 4
