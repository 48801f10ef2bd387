"""Sweeps: every (hyperparameter point x seed) of an algorithm trained as one compiled program.

    job = prepare("dqn", "CartPole-v1", total_steps=100_000)
    points = grid({"lr": [1e-4, 3e-4, 1e-3], "gamma": [0.98, 0.99]})  # purerl.config.points
    result = sweep(job, points, seeds=range(4))
    result.final_return  # [points, seeds]

The runs are flattened to one axis, `run = point * num_seeds + seed`, and
trained by `jit(vmap(train))` over it: hyperparameters are traced leaves of
`HParams`, so the whole sweep is one compile. With several devices the run
axis is split over a one-axis mesh (`jax.shard_map` over `"sweep"`; runs never
communicate); with several processes (`jax.distributed.initialize`) the mesh
spans every process's devices and each process trains its share. A sweep
larger than fits at once runs in chunks of `chunk_size` runs, each chunk the
same compiled program (the last one padded).

A point may also set env params by `env.NAME` (`{"env.gravity": 4.9}`): float EnvParams fields
are traced like hyperparameters, so a sweep over environment dynamics is one program too.

The points themselves are plain data (`purerl.config.points`), and the tables of a sweep's results
(ranking, sweep.csv, summary.json) are made from its `SweepResult` by `purerl.experiment`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from purerl.config import registry
from purerl.config.points import ENV, check_point, env_params_of, settings_of
from purerl.core import parallel
from purerl.envs import env_param_fields, set_params
from purerl.runtime import processes
from purerl.runtime.driver import to_hparams
from purerl.runtime.run import Job, build, chunk_of_periods, env_steps
from purerl.runtime.run import progress_shapes as run_progress_shapes

AXIS = "sweep"  # the mesh axis runs are split over
SPLIT, WHOLE = PartitionSpec(AXIS), PartitionSpec()  # runs split over the mesh; one copy on every device


class SweepResult(NamedTuple):
    points: list[dict[str, Any]]  # the swept values of each point
    hparams: Any  # HParams with a leading [points] axis (every traced setting)
    env_params: dict  # env.NAME -> [points] values of the env params the job traces
    seeds: list[int]
    metrics: dict[str, np.ndarray]  # name -> [points, seeds, num_evals]
    env_steps: np.ndarray  # [num_evals] env steps per run at each evaluation
    compile_s: float
    wall_s: float  # run time after compile, all chunks
    devices: int  # devices the runs were split over, all processes together
    chunk_size: int  # runs per compiled call

    @property
    def final_return(self) -> np.ndarray:
        """[points, seeds] the last evaluation of every run."""
        return self.metrics["eval_return"][..., -1]


def with_env_params(job: Job, points: Sequence[dict[str, Any]]) -> Job:
    """The job, rebuilt to trace the env params the points set (`env.NAME`) if it does not yet."""
    names = {name for point in points for name in env_params_of(point)}
    missing = names - set(job.env.traced)
    if not missing:
        return job
    kinds = env_param_fields(job.env.params)
    for name in sorted(missing):
        if name not in kinds:
            raise ValueError(f"{job.spec.env} has no env param {name!r}; its params are: {', '.join(kinds)}")
        if kinds[name] != "float":
            raise ValueError(
                f"env.{name} of {job.spec.env} is static (an {kinds[name]} field may set a shape or a loop "
                "length) and cannot be swept in one program; run one sweep per value")
    defaults = {name: getattr(job.env.params, name) for name in missing}
    spec = job.spec.replace(env_params={**job.spec.env_params, **{k: float(v) for k, v in defaults.items()}})
    return build(spec, max_devices=1)


def point_hparams(job: Job, points: Sequence[dict[str, Any]]) -> tuple[Any, dict[str, np.ndarray]]:
    """The job's HParams with each point's values, stacked to a leading [points] axis, and the
    values of its traced env params (`env.NAME` -> [points]).

    The job must trace the env params the points set (`with_env_params`).

    Raises:
      ValueError: a point names a static or unknown setting, or a value is out of range.
    """
    if not points:
        raise ValueError("a sweep needs at least one point")
    base = {k: v.item() for k, v in job.hparams._asdict().items()}
    stacked, env_values = [], []
    for point in points:
        values = check_point(job.algo, point, base)
        stacked.append(to_hparams(type(job.hparams), registry.split(job.algo, values)[1]))
        env = env_params_of(point)
        set_params(job.spec.env, job.env.params, env)  # checks names and values
        env_values.append(job.env.traced_values(env))
    env_params = {ENV + k: np.stack([np.asarray(v[k]) for v in env_values]) for k in job.env.traced}
    return jax.tree.map(lambda *xs: jnp.stack(xs), *stacked), env_params


def compile_sweep(job: Job, mesh: jax.sharding.Mesh, max_periods: int):
    """(init, chunk): the sweep's two programs over runs, each traced once.

    init: (seeds [R] uint32, swept {name: [R]}, shared) -> state [R].
    chunk: (state [R], swept, shared, periods) -> (state [R], metrics [R, max_periods]): `periods` <=
      max_periods evaluation periods of every run (the trip count traced), the state donated.

    Only the swept settings carry the run axis. The others stay unbatched, so a
    `lax.cond` on them and on counters the runs share (DQN's learning start, its
    target updates) stays a branch instead of both sides computed and selected.
    """

    def run_settings(values, shared):
        hparams, env_params = shared
        env = env_params_of(values)
        return hparams._replace(**settings_of(values)), None if env_params is None else {**env_params, **env}

    def init_runs(seeds, swept, shared):
        def init(seed, values):
            return job.trainer.init(jax.random.key(seed), *run_settings(values, shared))

        return jax.vmap(init)(seeds, swept)

    def chunk_runs(state, swept, shared, n):
        periods = chunk_of_periods(job.trainer.period, max_periods)
        return jax.vmap(lambda run, values: periods(run, *run_settings(values, shared), n))(state, swept)

    if mesh.size > 1:
        # check_vma=False: a run's scans build carries from constants; runs never communicate.
        init_runs = jax.shard_map(init_runs, mesh=mesh, in_specs=(SPLIT, SPLIT, WHOLE), out_specs=SPLIT,
                                  check_vma=False)
        chunk_runs = jax.shard_map(chunk_runs, mesh=mesh, in_specs=(SPLIT, SPLIT, WHOLE, WHOLE),
                                   out_specs=SPLIT, check_vma=False)
    return jax.jit(init_runs), jax.jit(chunk_runs, donate_argnums=0)


def _global(x: np.ndarray, mesh: jax.sharding.Mesh, spec: PartitionSpec = SPLIT) -> jax.Array:
    """A host array (the same on every process) as one array over the mesh, split as `spec` says."""
    x = np.asarray(x)
    sharding = NamedSharding(mesh, spec)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def device_memory() -> int:
    """Bytes one device may use: an accelerator's limit, or on CPU a share of the free host memory."""
    stats = jax.local_devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"] * 0.9)
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(0.8 * free / jax.local_device_count())


def _memory(compiled) -> int:
    """Bytes a compiled program needs on one device: arguments, outputs and scratch."""
    stats = compiled.memory_analysis()
    if stats is None:
        return 0
    return stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes


class SweepProgress(NamedTuple):
    """A sweep part-way: what `sweep` reports after each compiled call, and continues from.

    `step` counts evaluation periods over the run chunks: chunk c at period t is c * num_evals + t.
    """

    step: int
    state: Any  # the current run chunk's RunState [chunk, ...], arrays over the mesh (donated next call)
    metrics: dict[str, np.ndarray]  # name -> [chunks * chunk, num_evals], runs flattened; zeros not yet run
    chunk_size: int  # runs per compiled call
    devices: int


def sweep(
    job: Job,
    points: Sequence[dict[str, Any]],
    seeds: Sequence[int] | None = None,
    *,
    hparams: Any = None,
    chunk_size: int | None = None,
    devices: int | None = None,
    memory_limit: int | None = None,
    periods_per_chunk: int | None = None,
    start: SweepProgress | None = None,
    on_chunk: Callable[[SweepProgress], None] | None = None,
) -> SweepResult:
    """Trains every (point, seed) of `job` in one compiled program.

    Args:
      job: the prepared job; its traced settings are the defaults each point overrides.
      points: the swept values, one dict of traced settings (and `env.NAME` env params) per point
        (`purerl.config.points.grid`, `random_points`).
      seeds: seeds, the same for every point (default: the job's; run (p, s) uses the key of
        seed s, as `run.train` does).
      hparams: `point_hparams(job, points)` of `with_env_params(job, points)`, if computed already.
      chunk_size: runs per compiled call, rounded up to a multiple of the device
        count. Default: all runs, halved until the compiled program fits in
        `memory_limit`.
      devices: devices to split the runs over (default all, across processes).
      memory_limit: bytes one device may use (default: `device_memory()`).
      periods_per_chunk: evaluation periods per compiled call (default: the whole run). It shapes
        the program: continue a sweep with the value it started with.
      start: continue from this `SweepProgress` (a checkpoint: its state as host arrays) on as many
        devices, with its chunk size.
      on_chunk: called after every compiled call with the `SweepProgress`.
    """
    seeds = job.seeds if seeds is None else [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    if job.static.get("devices", 1) != 1 and job.spec.settings.get("devices") == 0:
        job = build(job.spec, max_devices=1)  # auto: in a sweep the devices split the runs instead
    if job.static.get("devices", 1) != 1:
        raise ValueError(
            f"in a sweep the devices split the runs: {job.algo}'s own devices setting must be 1 (or 0, "
            f"auto), got {job.static['devices']}"
        )
    job = with_env_params(job, points)
    hparams, env_params = point_hparams(job, points) if hparams is None else hparams
    num_points, num_seeds = len(points), len(seeds)
    num_evals = job.trainer.num_evals
    runs = num_points * num_seeds
    mesh = parallel.make_mesh(jax.device_count() if devices is None else devices, AXIS)
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"chunk size must be positive, got {chunk_size}")
    if periods_per_chunk is not None and periods_per_chunk <= 0:
        raise ValueError(f"periods per chunk must be positive, got {periods_per_chunk}")
    if start is not None:
        if start.devices != mesh.size:
            raise ValueError(f"the sweep was checkpointed on {start.devices} device(s) and would now run on "
                             f"{mesh.size}: resume it on {start.devices} (split otherwise, its runs would "
                             "not end bit-identical)")
        chunk_size = start.chunk_size
    chunk = runs if chunk_size is None else min(chunk_size, runs)
    limit = device_memory() if memory_limit is None else memory_limit
    max_periods = min(periods_per_chunk or num_evals, num_evals)

    # Runs flattened, padded with copies of run 0 to whole chunks.
    columns = hparams._asdict() | env_params
    swept = {name: np.asarray(columns[name]) for point in points for name in point}  # [points]
    seed_values = np.asarray(seeds, np.uint32)
    shared = jax.tree.map(lambda x: _global(x, mesh, WHOLE), (job.hparams, job.env_params))

    def inputs(c, chunk):
        index = np.arange(c * chunk, (c + 1) * chunk)
        index[index >= runs] = 0
        values = {k: _global(v[index // num_seeds], mesh) for k, v in swept.items()}
        return _global(seed_values[index % num_seeds], mesh), values, shared

    begin = time.perf_counter()
    init_jit, chunk_jit = compile_sweep(job, mesh, max_periods)
    length = np.int32(max_periods)
    while True:
        chunk = -(-chunk // mesh.size) * mesh.size
        first = inputs(0, chunk)
        init = init_jit.lower(*first).compile()
        program = chunk_jit.lower(init.out_info, first[1], shared, length).compile()
        if chunk_size is not None or chunk == mesh.size or _memory(program) <= limit:
            break
        chunk = -(-chunk // 2)
    num_chunks = -(-runs // chunk)
    compile_s = time.perf_counter() - begin
    processes.barrier("compiled")  # a peer slower to compile is waited for here, not in a collective

    if start is None:
        step = 0
        shapes = program.out_info[1]  # the chunk program's metrics
        metrics = {k: np.zeros((num_chunks * chunk, num_evals), v.dtype) for k, v in shapes.items()}
    else:
        step, metrics = start.step, {k: np.array(v) for k, v in start.metrics.items()}
    begin = time.perf_counter()
    while step < num_chunks * num_evals:
        c, t = divmod(step, num_evals)
        values = inputs(c, chunk)
        if t == 0:
            state = init(*values)
        elif start is not None:  # the checkpoint's state, split over the mesh as it was
            state = _to_mesh(start.state, mesh)
            start = None
        todo = min(max_periods, num_evals - t)
        state, out = program(state, values[1], shared, np.int32(todo))
        for k, v in processes.host_state(out).items():  # every process takes part in the gather
            metrics[k][c * chunk : (c + 1) * chunk, t : t + todo] = v[:, :todo]
        step += todo
        if on_chunk is not None:
            on_chunk(SweepProgress(step, state, metrics, chunk, mesh.size))
    wall_s = time.perf_counter() - begin

    metrics = {k: v[:runs].reshape(num_points, num_seeds, -1) for k, v in metrics.items()}
    points = [dict(p) for p in points]
    return SweepResult(points, hparams, env_params, seeds, metrics, env_steps(job), compile_s, wall_s,
                       mesh.size, chunk)


def progress_shapes(job: Job, chunk: int, num_chunks: int, devices: int) -> SweepProgress:
    """The shapes (ShapeDtypeStructs) of a sweep's `SweepProgress` with `num_chunks` calls of
    `chunk` runs: what a checkpoint of it is restored like. The job must trace the swept settings."""
    like = run_progress_shapes(job._replace(spec=job.spec.replace(seeds=list(range(chunk)))))
    shape = (chunk * num_chunks, job.trainer.num_evals)
    metrics = {k: jax.ShapeDtypeStruct(shape, v.dtype) for k, v in like.metrics.items()}
    return SweepProgress(0, like.state, metrics, chunk, devices)


def _to_mesh(state: Any, mesh: jax.sharding.Mesh) -> Any:
    """Host arrays (the same on every process) split over the mesh along the run axis."""
    def place(x):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            impl = jax.random.key_impl(x)
            return jax.random.wrap_key_data(_global(jax.random.key_data(x), mesh), impl=impl)
        return _global(x, mesh)

    return jax.tree.map(place, state)
