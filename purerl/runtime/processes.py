"""JAX's multi-process runtime (one process per host) as purerl runs on it.

    processes.join("10.0.0.1:1234", 2, process_id, timeout_s=300)
    processes.decide("results-dir", lambda: records.make_out(out, overwrite))  # the first process decides
    processes.watch(lambda lost: f"process {lost} is lost; ...")  # one line and exit 3 when a peer is lost

- `join` starts the runtime with one timeout for everything that waits on a peer: connecting, the
  barriers below, and the watch. (JAX's own heartbeat is set to twice that, so purerl's line comes
  first.)
- `decide` runs a decision about shared files (check and create the results dir, read a run to
  resume) on the first process only, and gives every process its outcome, so processes started in
  any order or a moment apart agree and never race on a shared filesystem.
- `barrier` lines the processes up before a collective (a checkpoint's gather): a slow peer (a long
  compile on a loaded machine) is waited for up to the timeout, where the CPU collectives' own
  rendezvous gives up after 30 s.
- `watch` beats through the coordinator's key-value store; when a peer's beat stops for the timeout
  (or the coordinator, process 0, stops answering) it prints one line and ends this process at once,
  with exit status 3, without the shutdown barrier that would wait for the lost peer and abort.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import numpy as np
from jax._src import distributed  # the runtime's client: its key-value store and barriers
from jax.experimental import multihost_utils

TIMEOUT_S = 300  # default of --peer-timeout: a loaded machine's compile, a cluster's slow start
LOST = 3  # exit status of a process that stopped because a peer was lost
BEAT_S = 1.0  # how often the watch beats and looks at its peers

T = TypeVar("T")
_state: dict[str, Any] = {"timeout_s": TIMEOUT_S, "barriers": 0, "decisions": 0, "watch": None}


def join(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None,
         timeout_s: float = TIMEOUT_S) -> None:
    """Joins the multi-process runtime (with no arguments JAX reads the cluster: SLURM, Open MPI, TPU
    pods, JAX_COORDINATOR_ADDRESS ...), waiting up to `timeout_s` for every process to join."""
    if timeout_s <= 0:
        raise ValueError(f"--peer-timeout must be positive, got {timeout_s}")
    _state["timeout_s"] = timeout_s
    jax.distributed.initialize(coordinator, num_processes, process_id, initialization_timeout=int(timeout_s),
                               heartbeat_timeout_seconds=int(2 * timeout_s) + 10)


def timeout_s() -> float:
    return _state["timeout_s"]


def _client():
    return distributed.global_state.client


def decide(name: str, decision: Callable[[], T], *kinds: type[ValueError]) -> T | None:
    """Runs `decision` on the first process only and gives every process its outcome: a ValueError it
    raises is raised on every process with the same line (as its own class if among `kinds`, such as
    `Finished`); otherwise the first process gets its value and the others None. Every process calls
    it, in the same order (so a decision of the same name made twice, a sweep's results dir and then
    its `--eval-seeds` retrain's, keeps its own key)."""
    if jax.process_count() == 1:
        return decision()
    _state["decisions"] += 1
    key = f"purerl/decision/{_state['decisions']}/{name}"
    if jax.process_index() == 0:
        try:
            value = decision()
        except Exception as e:
            kind = type(e).__name__ if type(e) in kinds else "ValueError"
            message = e if isinstance(e, ValueError) else f"process 0 failed: {type(e).__name__}: {e}"
            _client().key_value_set(key, f"{kind}\n{message}")
            raise
        _client().key_value_set(key, "ok\n")
        return value
    try:
        kind, message = _client().blocking_key_value_get(key, int(timeout_s() * 1000)).split("\n", 1)
    except jax.errors.JaxRuntimeError:
        raise ValueError(f"process 0 made no decision on the {name} within {timeout_s():g} s "
                         "(--peer-timeout)") from None
    if kind == "ok":
        return None
    raise next((k for k in kinds if k.__name__ == kind), ValueError)(message)


def barrier(name: str) -> None:
    """Waits (up to the timeout) until every process has reached the barrier of this name."""
    if jax.process_count() == 1:
        return
    _state["barriers"] += 1  # every process passes its barriers in the same order
    _client().wait_at_barrier(f"purerl/{name}/{_state['barriers']}", int(timeout_s() * 1000))


def host_state(tree: Any) -> Any:
    """Every array of `tree` as a whole host array, the same on every process (PRNG keys as keys):
    arrays spread over several processes are gathered (every process takes part), the others read."""
    barrier("gather")

    def host(x):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(host(jax.random.key_data(x)), impl=jax.random.key_impl(x))
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return np.asarray(x)
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))

    return jax.tree.map(host, tree)


def watch(on_lost: Callable[[int], str], *, parent: bool = False) -> None:
    """Watches the other processes from a daemon thread until `finish`: when one is lost, prints
    `purerl: error: {on_lost(index)}` on stderr and ends this process at once with status `LOST`.
    With `parent`, this process also ends (silently) when its parent process is gone: a supervising
    parent (`purerl.cli.supervise`) killed."""
    if jax.process_count() == 1 or _state["watch"] is not None:
        return
    stop = threading.Event()
    parent_id = os.getppid() if parent else None
    thread = threading.Thread(target=_watch, args=(on_lost, stop, parent_id), daemon=True, name="watch")
    _state["watch"] = stop
    thread.start()


def finish() -> None:
    """Says this process has ended its work: its peers stop watching it, and it stops watching them."""
    stop = _state["watch"]
    if stop is None:
        return
    stop.set()
    with contextlib.suppress(jax.errors.JaxRuntimeError):
        _client().key_value_set(f"purerl/done/{jax.process_index()}", "1", allow_overwrite=True)


def stop(line: str) -> None:
    """Prints `purerl: error: {line}` and ends the process now, with status `LOST` (no shutdown barrier)."""
    sys.stdout.flush()
    print(f"purerl: error: {line}", file=sys.stderr, flush=True)
    os._exit(LOST)


def _watch(on_lost: Callable[[int], str], stopped: threading.Event, parent: int | None) -> None:
    client, me = _client(), jax.process_index()
    last = {j: (None, time.monotonic()) for j in range(jax.process_count()) if j != me}
    beat = 0
    while not stopped.is_set():
        if parent is not None and os.getppid() != parent:
            os._exit(LOST)
        try:
            client.key_value_set(f"purerl/beat/{me}", str(beat), allow_overwrite=True)
        except jax.errors.JaxRuntimeError:  # the coordinator's service lives in process 0
            if not stopped.is_set():
                stop(_describe(on_lost, 0))
            return
        beat += 1
        now = time.monotonic()
        for j, (seen, since) in list(last.items()):
            if _try_get(client, f"purerl/done/{j}") is not None:
                del last[j]
                continue
            value = _try_get(client, f"purerl/beat/{j}")
            if value != seen:
                last[j] = (value, now)
            elif now - since > timeout_s() and not stopped.is_set():
                stop(_describe(on_lost, j))
        stopped.wait(BEAT_S)


def _describe(on_lost: Callable[[int], str], index: int) -> str:
    try:
        return on_lost(index)
    except Exception as e:  # the line must come out whatever fails in describing it
        return f"process {index} is lost ({type(e).__name__} while describing it: {e})"


def _try_get(client, key: str) -> str | None:
    try:
        return client.key_value_try_get(key)
    except jax.errors.JaxRuntimeError:  # not set yet
        return None


def failed_collective(error: Exception) -> None:
    """After a collective between processes failed (`error`): waits for the watch to name a lost peer
    (it ends the process), and if none is lost within the timeout, stops with the error's first line."""
    stop_at = time.monotonic() + timeout_s() + 2 * BEAT_S
    while _state["watch"] is not None and not _state["watch"].is_set() and time.monotonic() < stop_at:
        time.sleep(BEAT_S / 4)
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    stop(f"a collective between processes failed: {first}")
