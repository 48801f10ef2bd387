"""Long runs: a run SIGKILLed part-way and resumed from its checkpoint ends bit-identical to the same
run left alone; rows written before the kill are kept; a half-written checkpoint is never loaded and a
corrupt one is refused with one clear error."""

import json
import shutil
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from purerl import checkpoint
from purerl.cli import main
from purerl.run import prepare, progress_shapes, train, train_chunked

# The algorithm, its settings and when to kill it: DQN right after its checkpoint at evaluation 2;
# A3C at evaluation 3, one evaluation past its checkpoint at 2 (the resume reruns it, adding no rows).
RUNS = {
    "dqn": dict(total_steps=4000, settings=dict(num_evals=4, eval_episodes=8, buffer_size=1000,
                                                learning_starts=500), every=1, kill_after=2),
    "a3c": dict(total_steps=5120, settings=dict(num_evals=5, eval_episodes=8), every=2, kill_after=3),
}

# Runs the CLI with train_chunked wrapped to SIGKILL the process right after evaluation {period}'s
# results (metrics rows, checkpoint) are written: a real kill, at a reproducible point.
KILLER = """
import os, signal, sys
import purerl.run

chunked = purerl.run.train_chunked

def train_chunked(*args, on_chunk, **kwargs):
    def then_kill(progress, chunk_s):
        on_chunk(progress, chunk_s)
        if progress.period == {period}:
            os.kill(os.getpid(), signal.SIGKILL)
    return chunked(*args, on_chunk=then_kill, **kwargs)

purerl.run.train_chunked = train_chunked
from purerl.cli import main
sys.exit(main(sys.argv[1:]))
"""


def command(algo, out):
    run = RUNS[algo]
    settings = [f"{k}={v}" for k, v in run["settings"].items()]
    return ["train", algo, "--total-steps", str(run["total_steps"]), "--set", *settings, "--seeds", "2",
            "--checkpoint-every", str(run["every"]), "--out", str(out)]


def start(*args, kill_after=None):
    code = ["-m", "purerl"] if kill_after is None else ["-c", KILLER.format(period=kill_after)]
    return subprocess.Popen([sys.executable, *code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(process):
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Per algorithm: an uninterrupted run, and a run killed part-way (a copy of its files as the
    kill left them in ALGO-at-kill), then resumed; all as separate processes, run side by side."""
    root = tmp_path_factory.mktemp("runs")
    first, results, resumed = {}, {}, {}
    for algo, run in RUNS.items():
        first[algo, "whole"] = start(*command(algo, root / f"{algo}-whole"))
        first[algo, "killed"] = start(*command(algo, root / f"{algo}-killed"), kill_after=run["kill_after"])
    for algo in RUNS:  # each resume starts as soon as its run is killed
        results[algo, "killed"] = code, _, stderr = finish(first[algo, "killed"])
        assert code == -signal.SIGKILL, stderr
        killed = root / f"{algo}-killed"
        shutil.copytree(killed, root / f"{algo}-at-kill")
        # What a kill during the next save leaves behind: orbax's temporary dir, never complete.
        partial = killed / "checkpoints" / f"{RUNS[algo]['kill_after'] + 1}.orbax-checkpoint-tmp-1010101"
        shutil.copytree(killed / "checkpoints" / "2", partial)
        (partial / "commit_success.txt").unlink()
        resumed[algo] = start("train", "--resume", str(killed))
    for algo in RUNS:
        results[algo, "whole"] = code, _, stderr = finish(first[algo, "whole"])
        assert code == 0, stderr
        results[algo, "resumed"] = finish(resumed[algo])
    return root, results


def final_state(algo, out):
    run = RUNS[algo]
    job = prepare(algo, total_steps=run["total_steps"], settings=run["settings"])
    return checkpoint.restore(out / "checkpoints", progress_shapes(job, [0, 1]))


def as_arrays(tree):
    return [np.asarray(jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x)
            for x in jax.tree.leaves(tree)]


@pytest.mark.slow  # six training processes, about a minute
@pytest.mark.parametrize("algo", RUNS)
def test_killed_and_resumed_equals_uninterrupted(runs, algo):
    root, results = runs
    code, stdout, stderr = results[algo, "resumed"]
    assert code == 0, stderr
    whole, killed, at_kill = root / f"{algo}-whole", root / f"{algo}-killed", root / f"{algo}-at-kill"
    assert f"at evaluation 2 of {RUNS[algo]['settings']['num_evals']}" in stdout
    assert "warning" not in stderr

    # The whole training state at the end: parameters, optimiser, buffer, keys, counters.
    a, b = final_state(algo, whole), final_state(algo, killed)
    assert a.period == b.period == RUNS[algo]["settings"]["num_evals"]
    for x, y in zip(as_arrays(a.state), as_arrays(b.state), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)

    summary_whole = json.loads((whole / "summary.json").read_text())
    summary_resumed = json.loads((killed / "summary.json").read_text())
    assert summary_whole["final_return"] == summary_resumed["final_return"]
    assert summary_resumed["resumed_at_evaluation"] == 2
    assert (whole / "metrics.csv").read_text() == (killed / "metrics.csv").read_text()

    # Rows written before the kill are kept, evaluation kill_after's too, though its checkpoint was not.
    before = (at_kill / "metrics.csv").read_text().splitlines()
    assert len(before) == 1 + 2 * RUNS[algo]["kill_after"]
    assert (killed / "metrics.csv").read_text().splitlines()[: len(before)] == before
    assert not (at_kill / "summary.json").exists()
    config = json.loads((at_kill / "config.json").read_text())
    assert config["seeds"] == [0, 1] and config["command"][:2] == ["purerl", "train"]
    assert {"jax", "orbax-checkpoint"} <= set(config["versions"])


def largest_file(step_dir):
    return max((f for f in step_dir.rglob("*") if f.is_file()), key=lambda f: f.stat().st_size)


def test_a_truncated_checkpoint_is_refused(runs, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(runs[0] / "dqn-whole", out)
    data = largest_file(out / "checkpoints" / "4")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    assert main(["train", "--resume", str(out)]) == 2
    err, step = capsys.readouterr().err.strip().splitlines(), out / "checkpoints" / "4"
    assert err[-1].startswith(f"purerl: error: checkpoint {step} is unreadable, truncated or corrupt")
    assert err[-1].endswith(f"delete {step} to resume from the checkpoint at period 3")


def test_an_altered_checkpoint_is_refused_by_its_checksum(runs, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(runs[0] / "dqn-whole" / "checkpoints", out / "checkpoints")
    data = largest_file(out / "checkpoints" / "4")
    flipped = bytearray(data.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    data.write_bytes(bytes(flipped))
    run = RUNS["dqn"]
    like = progress_shapes(prepare("dqn", total_steps=run["total_steps"], settings=run["settings"]), [0, 1])
    with pytest.raises(ValueError, match="do not match the checksum recorded when it was saved"):
        checkpoint.restore(out / "checkpoints", like)
    with pytest.raises(ValueError, match="different algorithm or settings"):
        checkpoint.restore(runs[0] / "a3c-whole" / "checkpoints", like)


def test_resume_takes_no_other_arguments(runs, capsys):
    assert main(["train", "dqn", "--seeds", "3", "--resume", str(runs[0] / "dqn-whole")]) == 2
    err = capsys.readouterr().err
    assert "--resume takes no other arguments" in err and "algo, --seeds" in err
    assert main(["train", "--resume", str(runs[0])]) == 2
    assert "has no config.json" in capsys.readouterr().err


def test_train_chunked_equals_train_and_continues_bit_identically():
    job = prepare("q_learning", total_steps=3200, settings=dict(num_evals=4, eval_episodes=8, num_envs=4))
    one_shot = train(job, [0, 1])
    seen = {}
    chunked = train_chunked(job, [0, 1], periods_per_chunk=3,
                            on_chunk=lambda progress, chunk_s: seen.setdefault(progress.period, progress))
    assert sorted(seen) == [3, 4]
    for name, values in one_shot.metrics.items():
        np.testing.assert_allclose(chunked.metrics[name], values, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(chunked.env_steps, one_shot.env_steps)

    continued = train_chunked(job, [0, 1], periods_per_chunk=3, start=seen[3])
    for name, values in chunked.metrics.items():
        np.testing.assert_array_equal(continued.metrics[name], values)
    for x, y in zip(as_arrays(continued.final_state), as_arrays(chunked.final_state), strict=True):
        np.testing.assert_array_equal(x, y)
