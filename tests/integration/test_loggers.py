"""Loggers: metrics.csv, TensorBoard and W&B get exactly the run's metrics; a missing package is one line."""

import json
import shutil
import struct
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from purerl import experiment
from purerl.cli import main
from purerl.config.spec import JobSpec
from purerl.io import loggers, records

TINY = {"num_evals": 3, "eval_episodes": 4}
ARGS = ["train", "q_learning", "--env", "FrozenLake-misc", "--seeds", "2", "--total-steps", "960",
        "--set", "num_evals=3", "eval_episodes=4"]


def tiny_spec():
    return JobSpec.create("q_learning", "FrozenLake-misc", total_steps=960, settings=TINY, seeds=[0, 1])


def expected(metrics, seeds, steps_per_period, evals):
    """(scalars, env steps) of each evaluation, as TensorBoard and W&B should get them."""
    return [(loggers.scalars(metrics, seeds, t), steps_per_period * (t + 1)) for t in evals]


def tensorboard_scalars(path: Path) -> dict:
    """{(tag, step): value} of every TensorBoard events file under `path` (TFRecord framing)."""
    from tensorboardX.proto import event_pb2

    values = {}
    for file in sorted(path.glob("events.out.tfevents.*")):
        data, pos = file.read_bytes(), 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos : pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12 : pos + 12 + length])
            pos += 12 + length + 4  # length, its crc, the event, its crc
            for value in event.summary.value:
                values[value.tag, event.step] = value.simple_value
    return values


def test_csv_and_tensorboard_are_the_runs_metrics(tmp_path):
    out = tmp_path / "run"
    result = experiment.train(tiny_spec(), out, experiment.Options(tensorboard=True))
    curves = records.read_metrics(out)
    assert list(curves.env_steps) == list(result.env_steps)
    for name, values in result.metrics.items():
        np.testing.assert_array_equal(curves.metrics[name], values.astype(np.float32))
    steps = int(result.env_steps[0])
    want = {(tag, step): np.float32(value)  # TensorBoard keeps float32
            for values, step in expected(result.metrics, result.seeds, steps, range(3))
            for tag, value in values.items()}
    assert tensorboard_scalars(out / "tb") == want
    assert {"eval_return/mean", "eval_return/seed_0", "eval_return/seed_1", "epsilon/mean"} <= {
        tag for tag, _ in want}


class FakeRun:
    def __init__(self, calls):
        self.calls = calls

    def log(self, values, step):
        self.calls.append(("log", dict(values), step))

    def finish(self):
        self.calls.append(("finish",))


@pytest.fixture
def fake_wandb(monkeypatch):
    """A `wandb` module that records what it is called with."""
    calls = []
    module = types.ModuleType("wandb")
    module.init = lambda **kwargs: calls.append(("init", kwargs)) or FakeRun(calls)
    monkeypatch.setitem(sys.modules, "wandb", module)
    return calls


def test_wandb_gets_the_runs_scalars_and_a_resumed_run_continues_it(tmp_path, fake_wandb):
    out = tmp_path / "run"
    assert main([*ARGS, "--checkpoint-every", "1", "--wandb", "--wandb-project", "p", "--out", str(out)]) == 0
    config = records.read_config(out)
    run_id = config.run["wandb"]["id"]
    assert config.run["wandb"] == {"project": "p", "id": run_id}
    curves = records.read_metrics(out)
    steps = int(curves.env_steps[0])
    init = {"project": "p", "dir": str(out), "config": config.spec.to_dict(), "name": "run", "id": run_id,
            "resume": "allow"}
    logs = [("log", values, step) for values, step in expected(curves.metrics, [0, 1], steps, range(3))]
    assert fake_wandb == [("init", init), *logs, ("finish",)]

    # Killed after its second checkpoint: the resumed run logs the third evaluation to the same W&B run.
    shutil.rmtree(out / "checkpoints" / "3")
    (out / records.SUMMARY).unlink()
    fake_wandb.clear()
    assert main(["train", "--resume", str(out), "--wandb"]) == 0
    assert fake_wandb == [("init", init), logs[2], ("finish",)]
    np.testing.assert_array_equal(records.read_metrics(out).metrics["eval_return"],
                                  curves.metrics["eval_return"])


def wandb_records(run_file: Path) -> list:
    """The records of an offline run's .wandb file: a log of 32 KiB blocks of records, each a protobuf
    `Record` split into pieces of type full, first, middle or last."""
    from wandb.proto import wandb_internal_pb2

    data, found = run_file.read_bytes(), []
    assert data[:4] == b":W&B"
    block, pos, pieces = 32768, 7, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 or pos + 7 + length > len(data):  # the end, or a record still being written
            break
        pieces += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # full or last
            found.append(wandb_internal_pb2.Record.FromString(pieces))
            pieces = b""
    return found


def wandb_history(run_file: Path) -> list[tuple[int, dict]]:
    """(step, values) of each history record of an offline run, once the run's exit record is written
    (`run.finish()` returns when W&B's service has the run's records, not when its file does)."""
    for _ in range(300):
        found = wandb_records(run_file)
        if found and found[-1].WhichOneof("record_type") == "exit":
            break
        time.sleep(0.1)
    history = []
    for record in found:
        if record.WhichOneof("record_type") == "history":
            items = {item.key or "/".join(item.nested_key): json.loads(item.value_json)
                     for item in record.history.item}
            history.append((record.history.step.num, {k: v for k, v in items.items() if k[0] != "_"}))
    return history


def test_an_offline_wandb_run_writes_the_runs_history(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for name in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    out = tmp_path / "run"
    result = experiment.train(tiny_spec(), out, experiment.Options(wandb=True))
    run_id = records.read_config(out).run["wandb"]["id"]
    (run_file,) = (out / "wandb").glob(f"offline-run-*-{run_id}/run-{run_id}.wandb")
    steps = int(result.env_steps[0])
    assert wandb_history(run_file) == [(step, values) for values, step in
                                       expected(result.metrics, result.seeds, steps, range(3))]


@pytest.mark.parametrize("module, flag, message", [
    ("wandb", "--wandb", "--wandb needs wandb: pip install 'purerl[wandb]'"),
    ("tensorboardX", "--tensorboard", "--tensorboard needs tensorboardX: pip install tensorboardX"),
])
def test_a_missing_package_is_one_line_before_compiling(module, flag, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # `import` raises ImportError

    def compile_nothing(*args, **kwargs):
        raise AssertionError("compiled")

    monkeypatch.setattr(experiment.chunks, "run_job", compile_nothing)
    assert main([*ARGS, flag, "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == f"purerl: error: {message}"
    assert not (tmp_path / "run").exists()


def test_a_wandb_project_needs_wandb(tmp_path, capsys):
    assert main([*ARGS, "--wandb-project", "p", "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == "purerl: error: --wandb-project needs --wandb"
