"""The command answers at once where it needs no env: `purerl list` and refusals of bad input are made
before JAX and the env suites (seconds to import) are, so a heavy import creeping back fails here."""

import subprocess
import sys
import time

import pytest

LIMIT_S = 5.0  # generous: about 0.2 s on a loaded 2-core machine, several seconds with JAX imported


def purerl(*args):
    begin = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "purerl", *args], capture_output=True, text=True, timeout=60)
    return done, time.perf_counter() - begin


def test_list_answers_at_once():
    done, seconds = purerl("list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("q_learning: ") and done.stderr == ""
    assert seconds < LIMIT_S


@pytest.mark.parametrize("args, message", [
    (["train", "dqn", "--set", "lr=-1"], "purerl: error: lr must be positive, got -1.0"),
    (["train", "dqn", "--out", "OUT"],
     "purerl: error: results dir OUT already holds results; pass --overwrite to replace them"),
    (["sweep", "dqn", "--grid", "buffer_size=1,2", "--out", "NEW"],
     "purerl: error: buffer_size of dqn is static"),
    (["train", "ppo", "--env", "mujoco:hopper"],
     "purerl: error: unknown env suite 'mujoco' in 'mujoco:hopper'"),
])
def test_a_refusal_that_needs_no_env_answers_at_once(tmp_path, args, message):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "summary.json").write_text("earlier results")
    paths = {"OUT": str(tmp_path / "out"), "NEW": str(tmp_path / "new")}
    done, seconds = purerl(*(paths.get(a, a) for a in args))
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(message.replace("OUT", paths["OUT"])) and done.stdout == ""
    assert seconds < LIMIT_S
    assert not (tmp_path / "new").exists()


def test_refusals_import_no_jax(tmp_path):
    """Deterministic, whatever the machine's load: no JAX module is loaded by the time a refusal is made."""
    code = ("import sys; from purerl.cli import main; "
            "codes = [main(a) for a in sys.argv[1:] for a in [a.split()]]; "
            "heavy = {m.split('.')[0] for m in sys.modules} & {'jax', 'jaxlib', 'gymnax', 'flax'}; "
            "print(codes, sorted(heavy))")
    refusals = ["train nope", "train dqn --set lr=-1", "train --config /etc/hostname",
                f"train dqn --checkpoint-every 0 --out {tmp_path / 'a'}", "train --resume " + str(tmp_path),
                "sweep dqn --grid lr=0.1,-1", "sweep dqn --grid lr=0.1 --eval-seeds 0"]
    done = subprocess.run([sys.executable, "-c", code, *refusals], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{[2] * len(refusals)} []"
    assert len(done.stderr.splitlines()) == len(refusals)
