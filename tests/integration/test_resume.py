"""Long runs: a run SIGKILLed part-way and resumed from its checkpoint ends bit-identical to the same
run left alone; rows written before the kill are kept; a half-written checkpoint is never loaded and a
corrupt one is refused with one clear error; Ctrl-C stops after a chunk and the run resumes from there;
the chunk program donates its state."""

import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from helpers import killer, leaves

from purerl.cli import main
from purerl.io import records
from purerl.runtime import checkpoint, run
from purerl.runtime.run import prepare, progress_shapes, train, train_chunked

# The algorithm, its settings and when to kill it: DQN right after its checkpoint at evaluation 2;
# A3C at evaluation 3, one evaluation past its checkpoint at 2 (the resume reruns it, adding no rows).
RUNS = {
    "dqn": dict(total_steps=4000, settings=dict(num_evals=4, eval_episodes=8, buffer_size=1000,
                                                learning_starts=500), every=1, kill_after=2),
    "a3c": dict(total_steps=5120, settings=dict(num_evals=5, eval_episodes=8), every=2, kill_after=3),
}

def command(algo, out):
    run = RUNS[algo]
    settings = [f"{k}={v}" for k, v in run["settings"].items()]
    return ["train", algo, "--total-steps", str(run["total_steps"]), "--set", *settings, "--seeds", "2",
            "--checkpoint-every", str(run["every"]), "--out", str(out)]


def start(*args, kill_after=None):
    code = ["-m", "purerl"] if kill_after is None else killer(kill_after)
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
    for algo, spec in RUNS.items():
        first[algo, "whole"] = start(*command(algo, root / f"{algo}-whole"))
        first[algo, "killed"] = start(*command(algo, root / f"{algo}-killed"), kill_after=spec["kill_after"])
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
    job = prepare(algo, total_steps=RUNS[algo]["total_steps"], settings=RUNS[algo]["settings"], seeds=[0, 1])
    return checkpoint.restore(out / "checkpoints", progress_shapes(job))


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
    for x, y in zip(leaves(a.state), leaves(b.state), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)

    summary_whole = records.read_summary(whole)
    summary_resumed = records.read_summary(killed)
    assert summary_whole["final_return"] == summary_resumed["final_return"]
    assert summary_resumed["resumed_at_evaluation"] == 2
    assert (whole / "metrics.csv").read_text() == (killed / "metrics.csv").read_text()

    # Rows were appended up to the kill, evaluation kill_after's too though its checkpoint was not; the
    # resume cut them back to the checkpoint's and wrote the same rows again.
    before = (at_kill / "metrics.csv").read_text().splitlines()
    assert len(before) == 1 + 2 * RUNS[algo]["kill_after"]
    assert (killed / "metrics.csv").read_text().splitlines()[: len(before)] == before
    assert not (at_kill / "summary.json").exists()
    config = records.read_config(at_kill)
    assert config.spec.seeds == (0, 1) and config.provenance["command"][:2] == ["purerl", "train"]
    assert {"jax", "orbax-checkpoint"} <= set(config.provenance["versions"])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished DQN run and a finished Q-learning run, each with its checkpoints (in this process)."""
    root = tmp_path_factory.mktemp("finished")
    assert main(command("dqn", root / "dqn")) == 0
    assert main(["train", "q_learning", "--total-steps", "3200", "--set", "num_evals=2", "eval_episodes=8",
                 "--seeds", "2", "--checkpoint-every", "1", "--out", str(root / "q_learning")]) == 0
    return root


def largest_file(step_dir):
    return max((f for f in step_dir.rglob("*") if f.is_file()), key=lambda f: f.stat().st_size)


def test_a_truncated_checkpoint_is_refused(finished, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(finished / "dqn", out)
    (out / "summary.json").unlink()  # as if killed after its last checkpoint
    data = largest_file(out / "checkpoints" / "4")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    assert main(["train", "--resume", str(out)]) == 2
    err, step = capsys.readouterr().err.strip().splitlines(), out / "checkpoints" / "4"
    assert err[-1].startswith(f"purerl: error: checkpoint {step} is unreadable, truncated or corrupt")
    assert err[-1].endswith(f"delete {step} to resume from the checkpoint at period 3")


def test_an_altered_checkpoint_is_refused_by_its_checksum(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished / "dqn" / "checkpoints", out / "checkpoints")
    data = largest_file(out / "checkpoints" / "4")
    flipped = bytearray(data.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    data.write_bytes(bytes(flipped))
    dqn = RUNS["dqn"]
    job = prepare("dqn", total_steps=dqn["total_steps"], settings=dqn["settings"], seeds=[0, 1])
    like = progress_shapes(job)
    with pytest.raises(ValueError, match="do not match the checksum recorded when it was saved"):
        checkpoint.restore(out / "checkpoints", like)
    with pytest.raises(ValueError, match="different algorithm or settings"):
        checkpoint.restore(finished / "q_learning" / "checkpoints", like)


def test_resume_takes_no_other_arguments(finished, capsys):
    assert main(["train", "dqn", "--seeds", "3", "--resume", str(finished / "dqn")]) == 2
    err = capsys.readouterr().err
    assert "--resume takes no other arguments" in err and "algo, --seeds" in err
    assert main(["train", "--resume", str(finished)]) == 2
    assert "has no config.json" in capsys.readouterr().err


def copy(tree):
    return jax.tree.map(lambda x: x.copy(), tree)


def test_train_is_the_chunk_program_and_a_run_continues_bit_identically():
    job = prepare("q_learning", total_steps=3200, settings=dict(num_evals=4, eval_episodes=8, num_envs=4),
                  seeds=[0, 1])
    whole = train(job)
    assert whole.periods == 4
    seen = {}
    chunked = train_chunked(job, on_chunk=lambda progress, chunk_s: seen.setdefault(
        progress.period, progress._replace(state=copy(progress.state))))
    assert sorted(seen) == [1, 2, 3, 4]
    for name, values in whole.metrics.items():  # the same compiled program: equal bit for bit
        np.testing.assert_array_equal(chunked.metrics[name], values)
    continued = train_chunked(job, start=seen[2])
    for name, values in chunked.metrics.items():
        np.testing.assert_array_equal(continued.metrics[name], values)
    for x, y in zip(leaves(continued.final_state), leaves(chunked.final_state), strict=True):
        np.testing.assert_array_equal(x, y)
    chunks = []
    stopped = train_chunked(job, stop=lambda: len(chunks) >= 1, on_chunk=lambda p, s: chunks.append(p.period))
    assert stopped.periods == 1 and np.all(stopped.metrics["eval_return"][:, 1:] == 0)


# The newer algorithms, and a MinAtar CNN run with a traced env param: checkpointed after one chunk,
# restored from disk and continued, they end bit-identical to the uninterrupted run.
RESTORED = {
    "ppo": dict(total_steps=1024,
                settings=dict(num_envs=4, rollout_len=8, num_minibatches=2, update_epochs=2)),
    "td3": dict(total_steps=96, settings=dict(learning_starts=16, buffer_size=64, batch_size=8)),
    "sac": dict(total_steps=96, settings=dict(learning_starts=16, buffer_size=64, batch_size=8)),
    "dqn": dict(env_id="Breakout-MinAtar", total_steps=128, env_params={"max_steps_in_episode": 50},
                settings=dict(buffer_size=64, batch_size=8, learning_starts=16, hidden=[16])),
}


@pytest.mark.slow  # two compiles and an orbax round trip each
@pytest.mark.parametrize("algo", RESTORED)
def test_a_run_restored_from_its_checkpoint_continues_bit_identically(algo, tmp_path):
    spec = dict(RESTORED[algo])
    spec["settings"] = spec["settings"] | dict(num_evals=3, eval_episodes=4)
    job = prepare(algo, seeds=[0, 1], **spec)
    seen = {}
    whole = train_chunked(job, on_chunk=lambda progress, chunk_s: seen.setdefault(
        progress.period, progress._replace(state=copy(progress.state))))
    manager = checkpoint.manager(tmp_path / "checkpoints")
    checkpoint.save(manager, seen[1])
    manager.close()
    restored = checkpoint.restore(tmp_path / "checkpoints", progress_shapes(job))
    continued = train_chunked(job, start=restored)
    for name, values in whole.metrics.items():
        np.testing.assert_array_equal(continued.metrics[name], values)
    for x, y in zip(leaves(continued.final_state), leaves(whole.final_state), strict=True):
        np.testing.assert_array_equal(x, y)


def test_the_chunk_program_consumes_its_input_state():
    """The state is donated: its buffers (DQN's replay buffer among them) are reused, not held twice."""
    settings = dict(num_evals=2, eval_episodes=4, buffer_size=512, batch_size=16, learning_starts=0)
    job = prepare("dqn", total_steps=256, seeds=[0, 1], settings=settings)
    state = run._init_program(job.trainer.init)(run.seed_keys(job.seeds), job.hparams, job.env_params)
    program = run._chunk_program(job.trainer.period, 1)
    buffer = state.algo.buffer.data.obs
    new_state, _ = program(state, job.hparams, job.env_params, np.int32(1))
    jax.block_until_ready(new_state)
    assert buffer.is_deleted()
    assert all(x.is_deleted() for x in jax.tree.leaves(state))
    assert not any(x.is_deleted() for x in jax.tree.leaves(new_state))


CTRL_C = ["train", "q_learning", "--total-steps", "4e6", "--seeds", "2", "--set", "num_evals=40",
          "eval_episodes=8"]


@pytest.mark.slow  # three training processes, about half a minute
def test_ctrl_c_stops_after_a_chunk_and_the_run_resumes_from_there(tmp_path):
    whole = start(*CTRL_C, "--out", str(tmp_path / "whole"))
    out = tmp_path / "stopped"
    stopped = start(*CTRL_C, "--out", str(out))
    deadline = time.monotonic() + 240
    while len((out / "metrics.csv").read_text().splitlines() if (out / "metrics.csv").is_file() else []) < 2:
        assert time.monotonic() < deadline and stopped.poll() is None
        time.sleep(0.01)
    stopped.send_signal(signal.SIGINT)
    code, stdout, stderr = finish(stopped)
    assert code == 130, stderr
    last = stderr.strip().splitlines()[-1].split("\r")[-1]
    assert last.startswith("purerl: stopped after ") and "env steps per seed (evaluation " in last
    assert last.endswith(f"results so far in {out}; continue with: purerl train --resume {out}")
    assert "Traceback" not in stderr and not (out / "summary.json").exists()
    period = int(last.split("(evaluation ")[1].split(" ")[0])
    assert 1 <= period < 40 and checkpoint.latest_step(out / "checkpoints") == period
    assert len((out / "metrics.csv").read_text().splitlines()) == 1 + 2 * period

    code, stdout, stderr = finish(start("train", "--resume", str(out)))
    assert code == 0, stderr
    assert f"at evaluation {period} of 40" in stdout
    assert finish(whole)[0] == 0
    a, b = records.read_summary(tmp_path / "whole"), records.read_summary(out)
    assert a["final_return"] == b["final_return"] and b["resumed_at_evaluation"] == period
    assert (tmp_path / "whole" / "metrics.csv").read_text() == (out / "metrics.csv").read_text()
