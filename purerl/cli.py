"""The `purerl` command line: `purerl train ...` and `purerl list`."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def parse_value(text: str):
    """JSON where it parses (numbers, booleans, lists), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_pairs(items: list[str] | None, what: str) -> dict:
    pairs = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{what} takes name=value, got {item!r}")
        pairs[name] = parse_value(value)
    return pairs


def parse_bins(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(b) for b in text.split(",")]
    except ValueError:
        raise ValueError(f"--discretize takes comma-separated bin counts, e.g. 3,3,8,12; got {text!r}") \
            from None


def parse_bounds(text: str | None) -> list[list[float]] | None:
    if text is None:
        return None
    try:
        return [[float(x) for x in dim.split(":")] for dim in text.split(",")]
    except ValueError:
        raise ValueError(f"--bounds takes LO:HI per dim, comma-separated; got {text!r}") from None


def versions() -> dict:
    from importlib import metadata

    packages = ("purerl", "jax", "jaxlib", "gymnax", "flax", "optax")
    return {p: metadata.version(p) for p in packages} | {"python": platform.python_version()}


def default_out(algo: str, env_id: str) -> Path:
    return Path("runs") / f"{algo}-{env_id}-{time.strftime('%Y%m%d-%H%M%S')}"


def check_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"results dir {out} already holds results; pass --overwrite to replace them")


def write_atomic(path: Path, text: str) -> None:
    """Writes a file whole or not at all (a killed run leaves the old file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def metric_columns(names) -> list[str]:
    """The metrics' column order in metrics.csv: the evaluation return first, then by name."""
    return ["eval_return", *sorted(n for n in names if n != "eval_return")]


def metric_rows(metrics: dict, seeds: list[int], env_steps: int, t: int, columns: list[str]) -> list[str]:
    """metrics.csv's rows of evaluation `t`, one per seed (metrics: name -> [seeds, evals])."""
    return [",".join([str(env_steps), str(seed), *(f"{float(metrics[n][i, t]):.6g}" for n in columns)])
            for i, seed in enumerate(seeds)]


def metrics_csv(result) -> str:
    """A whole run's metrics.csv, as `purerl train` writes it."""
    columns = metric_columns(result.metrics)
    lines = [",".join(["env_steps", "seed", *columns])]
    for t, steps in enumerate(result.env_steps):
        lines += metric_rows(result.metrics, result.seeds, int(steps), t, columns)
    return "\n".join(lines) + "\n"


def as_python(value):
    """A hyperparameter array as a JSON number, float32 printed short (0.1, not 0.100000001)."""
    import numpy as np

    value = np.asarray(value)
    return value.tolist() if value.dtype.kind in "iub" else float(str(value))


def provenance(argv: list[str]) -> dict:
    """Where and how a result was made: platform, processes, versions and the exact command."""
    import jax

    return {
        "device": str(jax.devices()[0].platform),
        "processes": jax.process_count(),
        "versions": versions(),
        "command": ["purerl", *argv],
    }


def job_record(job) -> dict:
    """What a results file records of the job: enough, with the seeds, to build it again."""
    return {
        "algo": job.algo,
        "env": job.env.id,
        "env_kwargs": job.env_kwargs,
        "discretize": job.discretize,
        "hyperparams": {k: as_python(v) for k, v in job.hparams._asdict().items()},
        "static": {k: list(v) if isinstance(v, tuple) else v for k, v in job.static.items()},
    }


def summary(job, result, argv: list[str]) -> dict:

    from purerl import registry

    spec = registry.ALGORITHMS[job.algo]
    final = result.final_return
    best = result.metrics["eval_return"].max(axis=1)
    total = job.trainer.total_steps
    return {
        **job_record(job),
        "seeds": result.seeds,
        "total_env_steps": total,
        "evaluation": f"{spec.evaluation} policy, mean undiscounted return over "
        f"{job.static['eval_episodes']} episodes per seed",
        "final_return": {"mean": float(final.mean()), "per_seed": [float(x) for x in final]},
        "best_return": {"mean": float(best.mean()), "per_seed": [float(x) for x in best]},
        "wall_s": result.wall_s,
        "compile_s": result.compile_s,
        "env_steps_per_s": total * len(result.seeds) / result.wall_s,
        **provenance(argv),
    }


def with_devices(algo: str, devices: int | None, settings: dict) -> dict:
    """Adds --devices as the `devices` setting of algorithms that take one (default: every device)."""
    from purerl import registry

    takes = algo in registry.ALGORITHMS and "devices" in registry.static_settings(algo)
    if devices is None:
        if not takes or "devices" in settings:
            return settings
        import jax

        return {**settings, "devices": jax.device_count()}
    if not takes:
        users = [name for name in registry.ALGORITHMS if "devices" in registry.static_settings(name)]
        raise ValueError(f"{algo} runs on one device; --devices is for: {', '.join(users)}")
    if settings.get("devices", devices) != devices:
        raise ValueError("--devices and --set devices=... disagree")
    return {**settings, "devices": devices}


RESULT_FILES = ("config.json", "metrics.csv", "summary.json")  # and the dirs checkpoints/, tb/


def run_config(job, seeds: list[int], argv: list[str], checkpoint_every: int | None) -> dict:
    """What config.json records at the start of a run: all `--resume` needs to rebuild and continue it."""
    from importlib import metadata

    record = provenance(argv)
    return {
        **job_record(job),
        "seeds": seeds,
        "total_env_steps": job.trainer.total_steps,
        "periods_per_chunk": 1,
        "checkpoint_every": checkpoint_every,
        **record,
        "versions": record["versions"] | {"orbax-checkpoint": metadata.version("orbax-checkpoint")},
    }


def resumed_args(args) -> tuple[argparse.Namespace, list[str], dict]:
    """The arguments, argv and config.json of the run in `--resume DIR`."""
    bare = vars(build_parser().parse_args(["train", "--resume", args.resume]))
    extra = sorted(k for k, v in vars(args).items() if v != bare.get(k))
    if extra:
        flags = ", ".join(k if k == "algo" else "--" + k.replace("_", "-") for k in extra)
        raise ValueError(f"--resume takes no other arguments (the run's are in its config.json); got {flags}")
    out = Path(args.resume)
    try:
        config = json.loads((out / "config.json").read_text())
        argv = list(config["command"][1:])
    except FileNotFoundError:
        raise ValueError(f"{out} has no config.json: not a results dir written by `purerl train`") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{out / 'config.json'} is unreadable ({e})") from None
    resumed = build_parser().parse_args(argv)
    if resumed.devices is None and "devices" in config["static"]:
        resumed.devices = config["static"]["devices"]  # the recorded count, not this machine's
    resumed.resume, resumed.out = args.resume, str(out)
    return resumed, argv, config


def check_same_run(config: dict, fresh: dict, out: Path) -> None:
    """Raises unless `fresh` (rebuilt here) is the run config.json records; warns of other versions."""
    same = ("algo", "env", "env_kwargs", "discretize", "hyperparams", "static", "seeds", "total_env_steps")
    for key in same:
        if config.get(key) != fresh[key]:
            raise ValueError(f"{out / 'config.json'} records {key} {config.get(key)!r}, but this purerl "
                             f"builds {fresh[key]!r} from its command: cannot resume it")
    if config.get("versions") != fresh["versions"]:
        print(f"purerl: warning: resuming with versions {fresh['versions']} (the run started with "
              f"{config.get('versions')}): the result may differ from an uninterrupted run", file=sys.stderr)


class MetricsLog:
    """metrics.csv, one row per evaluation and seed, rewritten whole after every chunk.

    Rows already in the file when a run resumes are kept: the periods rerun from
    the last checkpoint add no rows, only a warning if they differ.
    """

    def __init__(self, path: Path, names: list[str], seeds: list[int], steps_per_period: int, resume: bool):
        self.path, self.seeds, self.steps_per_period = path, seeds, steps_per_period
        self.names = metric_columns(names)
        self.lines = [",".join(["env_steps", "seed", *self.names])]
        if resume and path.is_file():
            lines = path.read_text().splitlines()
            if lines[:1] != self.lines:
                raise ValueError(f"{path} does not have this run's columns {self.lines[0]}")
            whole = (len(lines) - 1) // len(seeds) * len(seeds)  # a hand-edited partial period is dropped
            self.lines = lines[: 1 + whole]

    @property
    def periods(self) -> int:
        return (len(self.lines) - 1) // len(self.seeds)

    def rows(self, metrics: dict, t: int) -> list[str]:
        return metric_rows(metrics, self.seeds, self.steps_per_period * (t + 1), t, self.names)

    def update(self, metrics: dict, period: int, first: int) -> range:
        """Adds the rows of periods [first, period) not yet in the file; returns the periods added."""
        k = len(self.seeds)
        for t in range(first, min(period, self.periods)):
            if self.lines[1 + t * k : 1 + (t + 1) * k] != self.rows(metrics, t):
                print(f"purerl: warning: evaluation {t + 1} differs from the row {self.path} held "
                      "before the resume", file=sys.stderr)
        added = range(self.periods, period)
        for t in added:
            self.lines += self.rows(metrics, t)
        if added:
            write_atomic(self.path, "\n".join(self.lines) + "\n")
        return added


def prepare_from_args(args, settings: dict):
    """The job and the seeds that the job flags of `train` and `sweep` ask for (see `add_job_flags`)."""
    from purerl.run import prepare

    if args.seeds <= 0:
        raise ValueError(f"--seeds must be positive, got {args.seeds}")
    job = prepare(
        args.algo,
        args.env,
        parse_pairs(args.env_kwargs, "--env-kwargs"),
        total_steps=args.total_steps,
        settings=settings,
        bins=parse_bins(args.discretize),
        bounds=parse_bounds(args.bounds),
    )
    return job, list(range(args.seed, args.seed + args.seeds))


def cmd_train(args, argv) -> int:
    import shutil

    import jax
    from tqdm import tqdm

    from purerl import checkpoint
    from purerl.run import progress_shapes, train_chunked

    config, lead = None, jax.process_index() == 0  # only the first process writes and prints
    if jax.process_count() > 1 and (args.resume is not None or args.checkpoint_every is not None):
        raise ValueError("checkpoints and --resume are for single-process runs; a multi-process run "
                         "trains from the start")
    if args.resume is not None:
        args, argv, config = resumed_args(args)
    elif args.algo is None:
        raise ValueError("train needs an algorithm (see `purerl list`), or --resume DIR")
    if args.checkpoint_every is not None and args.checkpoint_every <= 0:
        raise ValueError(f"--checkpoint-every must be positive, got {args.checkpoint_every}")
    if args.tensorboard:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ValueError("--tensorboard needs tensorboardX: pip install tensorboardX") from None
    settings = with_devices(args.algo, args.devices, parse_pairs(args.set, "--set"))
    job, seeds = prepare_from_args(args, settings)
    out = Path(args.out) if args.out else default_out(job.algo, job.env.id)
    fresh = run_config(job, seeds, argv, args.checkpoint_every)
    shapes, start = progress_shapes(job, seeds), None
    if config is not None:
        check_same_run(config, fresh, out)
        if checkpoint.latest_step(out / "checkpoints") is not None:  # else it starts again
            start = checkpoint.restore(out / "checkpoints", shapes)
    else:
        check_out_dir(out, args.overwrite)
    if config is None and lead:
        out.mkdir(parents=True, exist_ok=True)
        for name in RESULT_FILES:
            (out / name).unlink(missing_ok=True)
        for name in ("checkpoints", "tb"):
            if (out / name).is_dir():
                shutil.rmtree(out / name)
        write_atomic(out / "config.json", json.dumps(fresh, indent=2) + "\n")

    trainer, first = job.trainer, 0 if start is None else start.period
    steps = trainer.total_steps
    if lead and config is None:
        print(f"training {job.algo} on {job.env.id}: {len(seeds)} seeds x {steps:,} env steps", flush=True)
    elif lead:
        print(f"resuming {job.algo} on {job.env.id} in {out} at evaluation {first} of {trainer.num_evals}: "
              f"{len(seeds)} seeds x {steps:,} env steps", flush=True)
    log = MetricsLog(out / "metrics.csv", list(shapes.metrics), seeds, trainer.steps_per_period,
                     resume=config is not None) if lead else None
    writer = SummaryWriter(str(out / "tb")) if args.tensorboard and lead else None
    manager = checkpoint.manager(out / "checkpoints") if args.checkpoint_every else None
    per_period = trainer.steps_per_period * len(seeds)  # env steps of all seeds in one period
    bar = tqdm(total=steps * len(seeds), initial=first * per_period, file=sys.stderr,
               desc="training", dynamic_ncols=True, unit_scale=True, disable=not lead,
               bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} env steps "
                          "[{elapsed}<{remaining}{postfix}]")
    last = first

    def on_chunk(progress, chunk_s):
        nonlocal last
        if writer is not None:
            for t in range(log.periods, progress.period):
                at = trainer.steps_per_period * (t + 1)
                for name, values in progress.metrics.items():
                    writer.add_scalar(f"{name}/mean", float(values[:, t].mean()), at)
                for seed, value in zip(seeds, progress.metrics["eval_return"][:, t]):
                    writer.add_scalar(f"eval_return/seed_{seed}", float(value), at)
            writer.flush()
        if log is not None:
            log.update(progress.metrics, progress.period, last)
        if manager is not None and (progress.period % args.checkpoint_every == 0
                                    or progress.period == trainer.num_evals):
            checkpoint.save(manager, progress)
        mean = progress.metrics["eval_return"][:, progress.period - 1].mean()
        rate = (progress.period - last) * per_period / chunk_s
        bar.set_postfix_str(f"{rate:,.0f} steps/s, eval return {mean:.4g}", refresh=False)
        bar.update((progress.period - last) * per_period)
        last = progress.period

    try:
        result = train_chunked(job, seeds, start=start, on_chunk=on_chunk)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
        if manager is not None:
            manager.close()
    if not lead:
        return 0
    info = summary(job, result, argv)
    if start is not None:  # this process ran only the evaluations after the checkpoint
        info["resumed_at_evaluation"] = first
        info["env_steps_per_s"] = (trainer.num_evals - first) * per_period / max(result.wall_s, 1e-9)
    write_atomic(out / "summary.json", json.dumps(info, indent=2) + "\n")

    for seed, ret in zip(seeds, info["final_return"]["per_seed"]):
        print(f"  seed {seed}: final return {ret:.3f}")
    print(
        f"final return {info['final_return']['mean']:.3f} (mean of {len(seeds)} seeds, "
        f"{info['evaluation']}); best {info['best_return']['mean']:.3f}"
    )
    print(
        f"{info['env_steps_per_s']:,.0f} env steps/s; run {result.wall_s:.1f} s "
        f"after a {result.compile_s:.1f} s compile; results in {out}"
    )
    return 0


def parse_grid(items: list[str] | None) -> dict[str, list]:
    """--grid name=v1,v2,... -> {name: [v1, v2, ...]}."""
    axes = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        values = [parse_value(v) for v in text.split(",")]
        if not sep or not name or "" in values:
            raise ValueError(f"--grid takes name=v1,v2,..., got {item!r}")
        if name in axes:
            raise ValueError(f"--grid {name} given twice")
        axes[name] = values
    return axes


def parse_ranges(items: list[str] | None) -> dict[str, tuple[float, float, bool]]:
    """--random name=lo:hi[:log] -> {name: (lo, hi, log)}."""
    ranges = {}
    for item in items or []:
        name, _, text = item.partition("=")
        parts = text.split(":")
        try:
            if not name or len(parts) not in (2, 3) or parts[2:] not in ([], ["log"]):
                raise ValueError
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"--random takes name=lo:hi or name=lo:hi:log, got {item!r}") from None
        if not lo < hi:
            raise ValueError(f"--random {name} needs lo < hi, got {lo}:{hi}")
        ranges[name] = (lo, hi, parts[2:] == ["log"])
    return ranges


def cpu_device_per_core() -> None:
    """On CPU, one JAX device per core, so a sweep's runs split over the cores.

    XLA runs one small-batch RL program on about one core; runs split over host
    devices run side by side. Left alone if XLA_FLAGS sets the count already, or
    if JAX has started in this process (`main` called from Python).
    """
    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        import jax

        with contextlib.suppress(RuntimeError):  # JAX is up in this process already: keep its devices
            jax.config.update("jax_num_cpu_devices", os.cpu_count() or 1)


def start_processes(args) -> None:
    """Joins JAX's multi-process runtime when asked (before anything touches a device)."""
    explicit = [args.coordinator, args.num_processes, args.process_id]
    if any(x is not None for x in explicit) and any(x is None for x in explicit):
        raise ValueError("--coordinator, --num-processes and --process-id go together")
    if args.distributed or args.coordinator is not None:
        import jax

        # With no arguments JAX reads the cluster (SLURM, Open MPI, TPU pods, JAX_COORDINATOR_ADDRESS ...).
        jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)


def sweep_tables(job, result) -> tuple[str, str]:
    """(sweep.csv, metrics.csv): one row per point and seed; one per point, seed and evaluation."""
    import io

    import numpy as np

    hparams = {k: np.asarray(v) for k, v in result.hparams._asdict().items()}
    names = metric_columns(result.metrics)
    runs, curves = io.StringIO(), io.StringIO()
    run_rows, curve_rows = csv.writer(runs), csv.writer(curves)
    run_rows.writerow(["point", *hparams, "seed", "final_return", "best_return", "env_steps"])
    curve_rows.writerow(["point", "seed", "env_steps", *names])
    returns = result.metrics["eval_return"]
    for p in range(len(result.points)):
        values = [as_python(v[p]) for v in hparams.values()]
        for s, seed in enumerate(result.seeds):
            final, best = returns[p, s, -1], returns[p, s].max()
            run_rows.writerow([p, *values, seed, f"{final:.6g}", f"{best:.6g}", job.trainer.total_steps])
            for t, steps in enumerate(result.env_steps):
                metrics = (f"{float(result.metrics[n][p, s, t]):.6g}" for n in names)
                curve_rows.writerow([p, seed, int(steps), *metrics])
    return runs.getvalue(), curves.getvalue()


def sweep_summary(job, result, swept: dict, argv: list[str]) -> dict:

    final = result.final_return
    means = final.mean(axis=1)
    best = int(means.argmax())
    runs = final.size
    points = [
        {"point": p, **values, "final_return": {"mean": float(means[p]), "per_seed": final[p].tolist()}}
        for p, values in enumerate(result.points)
    ]
    return {
        **job_record(job),
        "swept": swept,
        "seeds": result.seeds,
        "total_env_steps": job.trainer.total_steps,
        "runs": runs,
        "best": {
            "point": best,
            "hyperparams": {k: as_python(v[best]) for k, v in result.hparams._asdict().items()},
            "final_return": points[best]["final_return"],
        },
        "points": points,
        "wall_s": result.wall_s,
        "compile_s": result.compile_s,
        "env_steps_per_s": job.trainer.total_steps * runs / result.wall_s,
        "devices": result.devices,
        "chunk_size": result.chunk_size,
        **provenance(argv),
    }


def cmd_sweep(args, argv) -> int:
    import jax

    from purerl.sweep import grid, random_points, sweep

    axes, ranges = parse_grid(args.grid), parse_ranges(args.random)
    if bool(axes) == bool(ranges):
        raise ValueError("give the points either as --grid name=v1,... or as --random name=lo:hi --points P")
    if ranges and (args.points is None or args.points <= 0):
        raise ValueError("--random needs --points P, a positive number of points")
    settings = parse_pairs(args.set, "--set")
    for name in set(settings) & (set(axes) | set(ranges)):
        raise ValueError(f"{name} is both set and swept")
    job, seeds = prepare_from_args(args, settings)
    points = grid(axes) if axes else random_points(ranges, args.points, args.sweep_seed)
    swept = {"grid": axes} if axes else {"random": {k: list(v) for k, v in ranges.items()},
                                          "points": args.points, "sweep_seed": args.sweep_seed}
    out = Path(args.out) if args.out else default_out(f"sweep-{job.algo}", job.env.id)
    check_out_dir(out, args.overwrite)

    lead = jax.process_index() == 0
    if lead:
        print(f"sweeping {job.algo} on {job.env.id}: {len(points)} points x {len(seeds)} seeds x "
              f"{job.trainer.total_steps:,} env steps, one program", flush=True)
    result = sweep(job, points, seeds, chunk_size=args.chunk_size, devices=args.devices)
    if not lead:
        return 0
    out.mkdir(parents=True, exist_ok=True)
    info = sweep_summary(job, result, swept, argv)
    runs_csv, curves_csv = sweep_tables(job, result)
    write_atomic(out / "sweep.csv", runs_csv)
    write_atomic(out / "metrics.csv", curves_csv)
    write_atomic(out / "summary.json", json.dumps(info, indent=2) + "\n")

    ranked = sorted(info["points"], key=lambda p: -p["final_return"]["mean"])
    for p in ranked[:5]:
        values = ", ".join(f"{k}={p[k]:.4g}" for k in result.points[0])
        print(f"  point {p['point']}: {values}: final return {p['final_return']['mean']:.3f}")
    best = info["best"]
    print(f"best point {best['point']} of {len(points)}: final return {best['final_return']['mean']:.3f} "
          f"(mean of {len(seeds)} seeds)")
    print(f"{info['env_steps_per_s']:,.0f} env steps/s over {info['runs']} runs on "
          f"{result.devices} device(s), {result.chunk_size} per call; run {result.wall_s:.1f} s "
          f"after a {result.compile_s:.1f} s compile; results in {out}")
    return 0


def cmd_list(args, argv) -> int:
    from purerl import registry

    for name, spec in registry.ALGORITHMS.items():
        print(f"{name}: {spec.summary}")
        print(f"  reference env {spec.default_env}, default --total-steps {spec.default_total_steps:,}")
        for key, value in registry.traced_settings(name).items():
            print(f"  {key} = {value!r}  (sweepable)")
        for key, value in registry.static_settings(name).items():
            print(f"  {key} = {value!r}  (static)")
    return 0


def add_process_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that join JAX's multi-process runtime (one process per host)."""
    parser.add_argument("--distributed", action="store_true",
                        help="join JAX's multi-process runtime, the cluster read from the environment")
    parser.add_argument("--coordinator", metavar="HOST:PORT", help="multi-process: the coordinator's address")
    parser.add_argument("--num-processes", type=int, metavar="N", help="multi-process: number of processes")
    parser.add_argument("--process-id", type=int, metavar="I", help="multi-process: this process's index")


def add_job_flags(parser: argparse.ArgumentParser, *, per: str, seeds_help: str, set_help: str,
                  out_default: str, algo_nargs: str | None = None) -> None:
    """The flags `prepare_from_args` reads, and the results dir: shared by `train` and `sweep`."""
    parser.add_argument("algo", nargs=algo_nargs, help="algorithm name (`purerl list` shows them all)")
    parser.add_argument("--env", help="gymnax env id (default: the algorithm's reference env)")
    parser.add_argument("--env-kwargs", nargs="*", metavar="K=V", help="env constructor arguments")
    parser.add_argument("--total-steps", type=int,
                        help=f"env steps per {per} (default: the algorithm's budget)")
    parser.add_argument("--seeds", type=int, default=1, help=f"{seeds_help} (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--set", nargs="*", metavar="NAME=VALUE", help=set_help)
    parser.add_argument("--discretize", metavar="BINS", help="discretise a Box observation, e.g. 3,3,8,12")
    parser.add_argument("--bounds", metavar="LO:HI,...", help="discretiser bounds per dim (use --bounds=...)")
    parser.add_argument("--out", help=f"results dir (default {out_default})")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="purerl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train K seeds of an algorithm in one compiled call")
    add_job_flags(tr, algo_nargs="?", per="seed", seeds_help="number of seeds K",
                  set_help="any setting (see `purerl list`)", out_default="runs/ALGO-ENV-TIME")
    tr.add_argument("--devices", type=int, metavar="N",
                    help="devices to shard the actors over, each running num_envs of them "
                    "(algorithms with a devices setting, e.g. a3c; default: all devices of all processes)")
    tr.add_argument("--checkpoint-every", type=int, metavar="N",
                    help="save the whole training state every N evaluations and at the end (OUT/checkpoints)")
    tr.add_argument("--resume", metavar="DIR",
                    help="continue the run in DIR from its last complete checkpoint (no other arguments)")
    tr.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events to OUT/tb")
    add_process_flags(tr)
    tr.set_defaults(func=cmd_train)

    sw = sub.add_parser("sweep", help="train every (hyperparameter point x seed) as one compiled program")
    add_job_flags(sw, per="run", seeds_help="seeds per point", set_help="settings fixed for every point",
                  out_default="runs/sweep-ALGO-ENV-TIME")
    sw.add_argument("--grid", nargs="+", action="extend", metavar="NAME=V1,V2",
                    help="a sweepable setting and its values; several --grid give their product")
    sw.add_argument("--random", nargs="+", action="extend", metavar="NAME=LO:HI[:log]",
                    help="a sweepable setting drawn uniformly (log-uniformly with :log) in [LO, HI]")
    sw.add_argument("--points", type=int, help="points drawn for --random")
    sw.add_argument("--sweep-seed", type=int, default=0, help="seed of the --random draw (default 0)")
    sw.add_argument("--chunk-size", type=int, metavar="N",
                    help="runs per compiled call (default: as many as fit in memory)")
    sw.add_argument("--devices", type=int, metavar="N", help="devices to split the runs over (default: all)")
    add_process_flags(sw)
    sw.set_defaults(func=cmd_sweep)

    ls = sub.add_parser("list", help="list algorithms and their settings")
    ls.set_defaults(func=cmd_list)

    from purerl import plot
    plot.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        # Before anything (gymnax's import included) starts a JAX backend:
        if args.command == "sweep":
            cpu_device_per_core()
        if args.command in ("sweep", "train"):
            start_processes(args)
        return args.func(args, argv)
    except ValueError as e:
        print(f"purerl: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
