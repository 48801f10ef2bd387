"""Checkpoints of a run part-way (`run.Progress`) with orbax, and their restoration.

    manager = checkpoint.manager(out / "checkpoints")
    checkpoint.save(manager, progress)  # inside `train_chunked`'s on_chunk
    start = checkpoint.restore(out / "checkpoints", run.progress_shapes(job))

A checkpoint is one orbax step, numbered by the evaluation periods done: the
state's leaves (typed PRNG keys as their raw key data), the metrics so far, and
a JSON record of the period, the key implementation and a SHA-256 of every
array. Orbax writes a step into a temporary directory and renames it when it is
complete, so a run killed mid-save leaves no step that looks complete;
`restore` reads the latest complete step and refuses, with a ValueError naming
its directory, one whose files cannot be read or whose arrays do not match the
recorded checksum (a truncated or altered file).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import jax
import numpy as np

from purerl.runtime.run import Progress

KEEP = 2  # complete checkpoints kept; older ones are deleted once a newer one is complete
FORMAT = 1  # version of the layout below


def _is_key(x) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _arrays(progress: Progress) -> dict[str, dict[str, np.ndarray]]:
    """The progress as orbax stores it: {"state": {"leaf00000": ...}, "metrics": {name: ...}}."""
    leaves = [jax.random.key_data(x) if _is_key(x) else x for x in jax.tree.leaves(progress.state)]
    leaves = jax.device_get(leaves)
    return {
        "state": {f"leaf{i:05d}": np.asarray(x) for i, x in enumerate(leaves)},
        "metrics": {k: np.asarray(v) for k, v in progress.metrics.items()},
    }


def _checksum(arrays: dict[str, dict[str, np.ndarray]]) -> str:
    digest = hashlib.sha256()
    for group in sorted(arrays):
        for name in sorted(arrays[group]):
            x = np.ascontiguousarray(arrays[group][name])
            digest.update(f"{group}/{name}:{x.dtype.str}:{x.shape};".encode())
            digest.update(x.tobytes())
    return digest.hexdigest()


def manager(directory: str | Path):
    """An orbax CheckpointManager for `directory` (created if missing) keeping the last `KEEP` steps.

    Saves are synchronous: when `save` returns, the step is complete on disk. In a multi-process
    runtime each process uses its manager alone (no barriers): the first process saves host arrays,
    the same on every process, and any process may read.
    """
    import orbax.checkpoint as ocp

    processes = {}
    if jax.process_count() > 1:
        processes["multiprocessing_options"] = ocp.options.MultiprocessingOptions(
            primary_host=jax.process_index(), active_processes={jax.process_index()})
    directory = Path(directory).absolute()
    directory.mkdir(parents=True, exist_ok=True)  # orbax creates none with `active_processes` set
    options = ocp.CheckpointManagerOptions(max_to_keep=KEEP, create=False, enable_async_checkpointing=False,
                                           cleanup_tmp_directories=True, **processes)
    return ocp.CheckpointManager(directory, options=options)


def save(manager, progress: Progress, extra: dict | None = None) -> None:
    """Writes `progress` as step `progress.period` (whole or not at all), with `extra` (JSON) in its
    record (`latest_meta`)."""
    import orbax.checkpoint as ocp

    arrays = _arrays(progress)
    keys = [x for x in jax.tree.leaves(progress.state) if _is_key(x)]
    meta = {
        "format": FORMAT,
        "period": int(progress.period),
        "key_impl": str(jax.random.key_impl(keys[0])) if keys else None,
        "sha256": _checksum(arrays),
        **(extra or {}),
    }
    manager.save(int(progress.period), args=ocp.args.Composite(
        arrays=ocp.args.StandardSave(arrays), meta=ocp.args.JsonSave(meta)))
    manager.wait_until_finished()


def latest_step(directory: str | Path) -> int | None:
    """The latest complete step in `directory`, or None if it holds none."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    with manager(directory) as mngr:
        return mngr.latest_step()


def latest_meta(directory: str | Path) -> dict | None:
    """The JSON record of the latest complete step in `directory` (with the `extra` it was saved
    with), or None if it holds none. Raises ValueError if the record cannot be read."""
    import orbax.checkpoint as ocp

    step = latest_step(directory)
    if step is None:
        return None
    try:
        with manager(directory) as mngr:
            return dict(mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta)
    except Exception as e:  # as in `restore`
        raise ValueError(f"checkpoint {Path(directory) / str(step)} is unreadable, truncated or corrupt "
                         f"({type(e).__name__})") from None


def restore(directory: str | Path, like: Progress) -> Progress:
    """The latest complete checkpoint in `directory`, shaped like `like` (see `run.progress_shapes`).

    Raises:
      ValueError: no complete checkpoint; its files are unreadable, truncated or
        altered; or it holds a different run's state.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} holds no complete checkpoint to resume from")
    absl = logging.getLogger("absl")  # orbax logs what it fails to parse; the ValueError says it once
    level = absl.level
    absl.setLevel(logging.CRITICAL)
    try:
        with manager(directory) as mngr:
            return _restore(mngr, directory, like)
    finally:
        absl.setLevel(level)


def _restore(mngr, directory: Path, like: Progress) -> Progress:
    import orbax.checkpoint as ocp

    steps = sorted(mngr.all_steps())
    if not steps:
        raise ValueError(f"{directory} holds no complete checkpoint to resume from")
    step, path = steps[-1], directory / str(steps[-1])
    advice = (f"; delete {path} to resume from the checkpoint at period {steps[-2]}" if len(steps) > 1
              else "; it is the only one: start the run again")
    try:
        restored = mngr.restore(step, args=ocp.args.Composite(
            arrays=ocp.args.StandardRestore(), meta=ocp.args.JsonRestore()))
        meta = dict(restored.meta)
        arrays = {group: {k: np.asarray(v) for k, v in restored.arrays[group].items()}
                  for group in ("state", "metrics")}
        expected = meta["sha256"]
    except Exception as e:  # orbax and tensorstore raise many kinds; all mean the same here
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        raise ValueError(f"checkpoint {path} is unreadable, truncated or corrupt "
                         f"({type(e).__name__}: {reason}){advice}") from None
    if _checksum(arrays) != expected:
        raise ValueError(f"checkpoint {path} is corrupt: its arrays do not match the checksum recorded "
                         f"when it was saved{advice}")
    if meta.get("format") != FORMAT or meta.get("period") != step:
        raise ValueError(f"checkpoint {path} has an unknown layout (format {meta.get('format')!r})")
    return Progress(step, _state_like(arrays["state"], like.state, meta["key_impl"], path),
                    _metrics_like(arrays["metrics"], like.metrics, path))


def _state_like(leaves: dict[str, np.ndarray], like: Any, key_impl: str | None, path: Path) -> Any:
    templates, treedef = jax.tree.flatten(like)
    if len(leaves) != len(templates):
        raise ValueError(f"checkpoint {path} holds {len(leaves)} state arrays; this run's state has "
                         f"{len(templates)}: it was written by a different algorithm or settings")
    state = []
    for i, template in enumerate(templates):
        x = leaves[f"leaf{i:05d}"]
        want = jax.eval_shape(jax.random.key_data, template) if _is_key(template) else template
        if x.shape != want.shape or x.dtype != want.dtype:
            raise ValueError(f"checkpoint {path} state array {i} is {x.dtype}{list(x.shape)}, this run "
                             f"needs {want.dtype}{list(want.shape)}: a different algorithm or settings")
        state.append(jax.random.wrap_key_data(x, impl=key_impl) if _is_key(template) else x)
    return jax.tree.unflatten(treedef, state)


def _metrics_like(metrics: dict[str, np.ndarray], like: dict, path: Path) -> dict[str, np.ndarray]:
    if set(metrics) != set(like) or any(metrics[k].shape != like[k].shape for k in like):
        raise ValueError(f"checkpoint {path} holds metrics {sorted(metrics)} of another shape than this "
                         f"run's: a different algorithm or settings")
    return {k: metrics[k].astype(like[k].dtype) for k in like}
