"""The `purerl` command: argument parsing that builds a job spec and calls `purerl.experiment`.

    purerl train ALGO [--env ID] [--set name=value ...] [--out DIR]   (or --config FILE, --resume DIR)
    purerl sweep ALGO --grid name=v1,v2 ... | --random name=lo:hi[:log] --points P   (or --resume DIR)
    purerl plot DIR...
    purerl report DIR[:LABEL]... [--out OUT] [--scores FILE.json]
    purerl list
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from purerl.cli.args import parse_bins, parse_bounds, parse_grid, parse_pairs, parse_ranges
from purerl.config import points as sweep_points
from purerl.config import registry
from purerl.config.spec import JobSpec
from purerl.io import loggers, records

# Every refusal that needs no env built is made before `purerl.experiment` (JAX and the env suites,
# seconds to import) is: from the flags, the spec (`purerl.config`) and the results dir (`purerl.io`).


def spec_from_args(args, settings: dict) -> JobSpec:
    """The job spec that the job flags of `train` and `sweep` ask for."""
    if args.algo is None:
        raise ValueError(f"{args.command} needs an algorithm (see `purerl list`)"
                         + (", or --config FILE, or --resume DIR" if args.command == "train" else ""))
    if args.seeds <= 0:
        raise ValueError(f"--seeds must be positive, got {args.seeds}")
    if args.seed < 0:
        raise ValueError(f"--seed must be non-negative, got {args.seed}")
    return JobSpec.create(args.algo, args.env, parse_pairs(args.env_kwargs, "--env-kwargs"),
                          total_steps=args.total_steps, settings=settings,
                          seeds=range(args.seed, args.seed + args.seeds),
                          bins=parse_bins(args.discretize), bounds=parse_bounds(args.bounds),
                          env_params=parse_pairs(args.env_params, "--env-params"),
                          sticky_actions=args.sticky_actions)


def with_devices(algo: str | None, devices: int | None, settings: dict) -> dict:
    """Adds --devices as the `devices` setting of algorithms that take one."""
    if devices is None:
        return settings
    if algo is None or "devices" not in registry.static_settings(algo):
        users = [name for name in registry.ALGORITHMS if "devices" in registry.static_settings(name)]
        raise ValueError(f"{algo} runs on one device; --devices is for: {', '.join(users)}")
    if settings.get("devices", devices) != devices:
        raise ValueError("--devices and --set devices=... disagree")
    return {**settings, "devices": devices}


def default_out(kind: str, spec) -> Path:
    return Path("runs") / f"{kind}{spec.algo}-{spec.env}-{time.strftime('%Y%m%d-%H%M%S')}"


def check_positive(args, *names: str) -> None:
    """Raises ValueError naming the first of the flags `names` given a value below 1."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")


def flag_names(names) -> str:
    return ", ".join(n if n == "algo" else "--" + n.replace("_", "-") for n in names)


# Flags of `train` that a --config or --resume run takes from its file instead, with their defaults.
JOB_FLAGS = {"algo": None, "env": None, "env_kwargs": None, "total_steps": None, "seeds": 1, "seed": 0,
             "set": None, "discretize": None, "bounds": None, "devices": None, "env_params": None,
             "sticky_actions": 0.0}


def cmd_train(args, argv) -> int:
    given = [name for name, default in JOB_FLAGS.items() if getattr(args, name) != default]
    if args.wandb_project is not None and not args.wandb:
        raise ValueError("--wandb-project needs --wandb")
    if args.resume is not None:
        extra = given + [n for n in ("config", "out", "checkpoint_every") if getattr(args, n) is not None]
        if extra or args.overwrite:
            raise ValueError(f"--resume takes no other arguments (the run's are in its config.json); "
                             f"got {flag_names(extra + ['overwrite'] * args.overwrite)}")
        out = Path(args.resume)
        records.read_resumable(out, "train")
    else:
        if args.config is not None:
            if given:
                raise ValueError(f"--config takes the whole job from its file; got also {flag_names(given)}")
            spec = records.read_spec_file(Path(args.config))
        else:
            spec = spec_from_args(args, with_devices(args.algo, args.devices, parse_pairs(args.set, "--set")))
        check_positive(args, "checkpoint_every")
        out = Path(args.out) if args.out else default_out("", spec)
        records.check_out(out, args.overwrite)
    loggers.check(tensorboard=args.tensorboard, wandb=args.wandb)
    start_jax(args)
    from purerl import experiment  # here, not above: it imports JAX and the env suites

    options = experiment.Options(
        overwrite=args.overwrite, checkpoint_every=args.checkpoint_every, tensorboard=args.tensorboard,
        wandb=args.wandb, wandb_project=args.wandb_project, show_progress=True, interruptible=True,
        compile_cache=not args.no_compile_cache, command=["purerl", *argv])
    try:
        if args.resume is not None:
            experiment.resume(out, options)
        else:
            experiment.train(spec, out, options)
    except experiment.Finished as done:
        print(done)
        return 0
    except experiment.Interrupted as stopped:
        return report_stopped(stopped)
    return report_train(out)


def report_stopped(stopped) -> int:
    print(f"purerl: {stopped}; results so far in {stopped.out}; continue with: purerl train --resume "
          f"{stopped.out}", file=sys.stderr)
    return 130


def report_train(out: Path) -> int:
    info = records.read_summary(out)
    if info is None:  # another process of a multi-process run writes the results
        return 0
    for seed, ret in zip(info["seeds"], info["final_return"]["per_seed"]):
        print(f"  seed {seed}: final return {ret:.3f}")
    print(f"final return {info['final_return']['mean']:.3f} (mean of {len(info['seeds'])} seeds, "
          f"{info['evaluation']}); best {info['best_return']['mean']:.3f}")
    print(f"{info['env_steps_per_s']:,.0f} env steps/s; run {info['wall_s']:.1f} s after a "
          f"{info['compile_s']:.1f} s compile; results in {out}")
    diverged = info["diverged"]
    if diverged["any"]:
        seeds = [s for s, d in zip(info["seeds"], diverged["per_seed"]) if d]
        print(f"purerl: warning: {len(seeds)} of {len(info['seeds'])} seeds diverged (non-finite or huge "
              f"loss or parameters): seeds {seeds}; see summary.json", file=sys.stderr)
    return 0


def cmd_sweep(args, argv) -> int:
    if args.resume is not None:
        given = [name for name, default in JOB_FLAGS.items() if getattr(args, name, default) != default]
        others = ("grid", "random", "points", "out", "chunk_size", "checkpoint_every", "eval_seeds")
        given += [n for n in others if getattr(args, n) is not None] + ["overwrite"] * args.overwrite
        if given:
            raise ValueError(f"--resume takes no other arguments (the sweep's are in its config.json); "
                             f"got {flag_names(given)}")
        out = Path(args.resume)
        records.read_resumable(out, "sweep")
    else:
        axes, ranges = parse_grid(args.grid), parse_ranges(args.random)
        if bool(axes) == bool(ranges):
            raise ValueError("give the points either as --grid name=v1,... or as --random name=lo:hi "
                             "--points P")
        if ranges and (args.points is None or args.points <= 0):
            raise ValueError("--random needs --points P, a positive number of points")
        settings = parse_pairs(args.set, "--set")
        for name in set(settings) & (set(axes) | set(ranges)):
            raise ValueError(f"{name} is both set and swept")
        spec = spec_from_args(args, settings)
        points = sweep_points.grid(axes) if axes else sweep_points.random_points(ranges, args.points,
                                                                                args.sweep_seed)
        sweep_points.check(spec.algo, points, spec.settings)
        check_positive(args, "checkpoint_every", "eval_seeds", "chunk_size")
        out = Path(args.out) if args.out else default_out("sweep-", spec)
        records.check_out(out, args.overwrite)
    start_jax(args, cpu_devices=True)
    import jax

    from purerl import experiment  # here, not above: it imports JAX and the env suites

    options = experiment.Options(compile_cache=not args.no_compile_cache, command=["purerl", *argv])
    if args.resume is not None:
        try:
            result = experiment.resume_sweep(out, options)
        except experiment.Finished as done:
            print(done)
            return 0
        return report_sweep(out, result)
    swept = {"grid": axes} if axes else {"random": {k: list(v) for k, v in ranges.items()},
                                          "points": args.points, "sweep_seed": args.sweep_seed}
    if jax.process_index() == 0:
        print(f"sweeping {spec.algo} on {spec.env}: {len(points)} points x {spec.num_seeds} seeds x "
              f"{spec.total_steps:,} env steps, one program", flush=True)
    options = options.replace(overwrite=args.overwrite, chunk_size=args.chunk_size, devices=args.devices,
                              checkpoint_every=args.checkpoint_every)
    result = experiment.sweep(spec, points, out, options, swept=swept, eval_seeds=args.eval_seeds)
    return report_sweep(out, result)


def report_sweep(out: Path, result) -> int:
    info = records.read_summary(out)
    if info is None:  # another process of a multi-process sweep writes the results
        return 0
    points, seeds = result.points, len(result.seeds)
    for p in info["ranking"][:5]:
        point = info["points"][p]
        values = ", ".join(f"{k}={point[k]:.4g}" for k in points[0])
        flag = " (diverged)" if point["diverged"]["any"] else ""
        print(f"  point {p}: {values}: final return {point['final_return']['mean']:.3f}{flag}")
    best = info["best"]
    print(f"best point {best['point']} of {len(points)}: final return {best['final_return']['mean']:.3f} "
          f"(mean of {seeds} tuning seeds)")
    print(f"{info['env_steps_per_s']:,.0f} env steps/s over {info['runs']} runs on {result.devices} "
          f"device(s), {result.chunk_size} per call; run {result.wall_s:.1f} s after a "
          f"{result.compile_s:.1f} s compile; results in {out}")
    if info["diverged_runs"]:
        print(f"purerl: warning: {info['diverged_runs']} of {info['runs']} runs diverged; they rank last "
              "(sweep.csv: diverged)", file=sys.stderr)
    evaluation = info.get("evaluation")
    if evaluation is not None:
        final, fresh = evaluation["final_return"], evaluation["eval_seeds"]
        print(f"reported: point {evaluation['point']} retrained on {len(fresh)} fresh seeds "
              f"({fresh[0]}-{fresh[-1]}, none used in tuning): final return {final['mean']:.3f} "
              f"(results in {out / 'eval'})")
    return 0


def cmd_list(args, argv) -> int:
    for name, definition in registry.ALGORITHMS.items():
        print(f"{name}: {definition.summary}")
        print(f"  reference env {definition.default_env}, "
              f"default --total-steps {definition.default_total_steps:,}")
        ranges = registry.ranges(name)
        for kind, values in (("sweepable", registry.traced_settings(name)),
                             ("static", registry.static_settings(name))):
            for key, value in values.items():
                print(f"  {key} = {value!r}  ({kind}; {ranges[key].describe()})")
                if key == "network" and value == "auto":
                    table = "table on discrete observations, " if definition.table_network else ""
                    print(f"    auto: {table}cnn on H x W x C grids (the MinAtar games, Pong-misc), "
                          "mlp on the others (flat vectors, Catch's and DeepSea's matrices, one-hot states)")
    return 0


def cmd_report(args, argv) -> int:
    from purerl.analysis import report

    path = report.write(args.dirs, args.out, scores_file=args.scores, task_bootstrap=args.task_bootstrap,
                        reps=args.reps, seed=args.seed)
    print(f"reported on {len(args.dirs)} results dir(s): {path}")
    return 0


def start_jax(args, *, cpu_devices: bool = False) -> None:
    """Sets JAX up as the command asks, before anything (gymnax's import included) starts a backend:
    with `cpu_devices`, one CPU device per core (a sweep's runs split over them); the processes of a
    multi-process runtime joined."""
    if cpu_devices:
        from purerl.runtime.devices import cpu_device_per_core  # imports JAX: only once all is checked

        cpu_device_per_core()
    start_processes(args)


def start_processes(args) -> None:
    """Joins JAX's multi-process runtime when asked (before anything touches a device)."""
    explicit = [args.coordinator, args.num_processes, args.process_id]
    if any(x is not None for x in explicit) and any(x is None for x in explicit):
        raise ValueError("--coordinator, --num-processes and --process-id go together")
    if args.distributed or args.coordinator is not None:
        import jax

        # With no arguments JAX reads the cluster (SLURM, Open MPI, TPU pods, JAX_COORDINATOR_ADDRESS ...).
        jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)


def add_cache_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-compile-cache", action="store_true",
                        help="compile without JAX's persistent compilation cache (default: on, in "
                        "~/.cache/purerl/jax; env PURERL_COMPILE_CACHE=0 or =DIR)")


def add_process_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that join JAX's multi-process runtime (one process per host)."""
    parser.add_argument("--distributed", action="store_true",
                        help="join JAX's multi-process runtime, the cluster read from the environment")
    parser.add_argument("--coordinator", metavar="HOST:PORT", help="multi-process: the coordinator's address")
    parser.add_argument("--num-processes", type=int, metavar="N", help="multi-process: number of processes")
    parser.add_argument("--process-id", type=int, metavar="I", help="multi-process: this process's index")


def add_job_flags(parser: argparse.ArgumentParser, *, per: str, seeds_help: str, set_help: str,
                  out_default: str, algo_nargs: str | None = None) -> None:
    """The flags `spec_from_args` reads, and the results dir: shared by `train` and `sweep`."""
    parser.add_argument("algo", nargs=algo_nargs, help="algorithm name (`purerl list` shows them all)")
    parser.add_argument("--env", help="gymnax env id (default: the algorithm's reference env)")
    parser.add_argument("--env-kwargs", nargs="*", metavar="K=V", help="env constructor arguments")
    parser.add_argument("--env-params", nargs="*", metavar="K=V",
                        help="EnvParams fields, e.g. gravity=4.9 (float ones are traced: sweep them as "
                             "--grid env.gravity=...)")
    parser.add_argument("--sticky-actions", type=float, default=0.0, metavar="P",
                        help="probability the env repeats the previous action (MinAtar's protocol: 0.1; "
                             "default 0)")
    parser.add_argument("--total-steps", metavar="N",
                        help=f"env steps per {per}, e.g. 500000 or 5e5 (default: the algorithm's budget)")
    parser.add_argument("--seeds", type=int, default=1, help=f"{seeds_help} (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--set", nargs="*", metavar="NAME=VALUE", help=set_help)
    parser.add_argument("--discretize", metavar="BINS", help="discretise a Box observation, e.g. 3,3,8,12")
    parser.add_argument("--bounds", metavar="LO:HI,...", help="discretiser bounds per dim (use --bounds=...)")
    parser.add_argument("--out", help=f"results dir (default {out_default})")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="purerl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train K seeds of an algorithm in one compiled call")
    add_job_flags(tr, algo_nargs="?", per="seed", seeds_help="number of seeds K",
                  set_help="any setting (see `purerl list`)", out_default="runs/ALGO-ENV-TIME")
    tr.add_argument("--config", metavar="FILE",
                    help="take the whole job from a spec file (a results dir's config.json is one)")
    tr.add_argument("--devices", type=int, metavar="N",
                    help="devices to split the actors over (algorithms with a devices setting, e.g. a3c; "
                    "N must divide num_envs; default: as many as divide it)")
    tr.add_argument("--checkpoint-every", type=int, metavar="N",
                    help="save the whole training state every N evaluations and at the end (OUT/checkpoints)")
    tr.add_argument("--resume", metavar="DIR",
                    help="continue the run in DIR from its last complete checkpoint (no other arguments)")
    tr.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events to OUT/tb")
    tr.add_argument("--wandb", action="store_true",
                    help="also log to a Weights & Biases run with its files in OUT/wandb "
                    "(WANDB_MODE=offline: nothing is uploaded)")
    tr.add_argument("--wandb-project", metavar="NAME",
                    help="the W&B project (default purerl; with --resume: the run's own)")
    add_cache_flag(tr)
    add_process_flags(tr)
    tr.set_defaults(func=cmd_train)

    sw = sub.add_parser("sweep", help="train every (hyperparameter point x seed) as one compiled program")
    add_job_flags(sw, algo_nargs="?", per="run", seeds_help="seeds per point",
                  set_help="settings fixed for every point", out_default="runs/sweep-ALGO-ENV-TIME")
    sw.add_argument("--grid", nargs="+", action="extend", metavar="NAME=V1,V2",
                    help="a sweepable setting and its values; several --grid give their product")
    sw.add_argument("--random", nargs="+", action="extend", metavar="NAME=LO:HI[:log]",
                    help="a sweepable setting drawn uniformly (log-uniformly with :log) in [LO, HI]")
    sw.add_argument("--points", type=int, help="points drawn for --random")
    sw.add_argument("--sweep-seed", type=int, default=0, help="seed of the --random draw (default 0)")
    sw.add_argument("--chunk-size", type=int, metavar="N",
                    help="runs per compiled call (default: as many as fit in memory)")
    sw.add_argument("--devices", type=int, metavar="N", help="devices to split the runs over (default: all)")
    sw.add_argument("--checkpoint-every", type=int, metavar="N",
                    help="save the whole sweep every N evaluations and after each chunk of runs "
                    "(OUT/checkpoints); continue a stopped sweep with --resume OUT")
    sw.add_argument("--resume", metavar="DIR",
                    help="continue the sweep in DIR from its last complete checkpoint (no other arguments)")
    sw.add_argument("--eval-seeds", type=int, metavar="K",
                    help="then retrain the best point on K fresh seeds (never used in tuning) as `purerl "
                    "train` does, into OUT/eval, and report those")
    add_cache_flag(sw)
    add_process_flags(sw)
    sw.set_defaults(func=cmd_sweep)

    ls = sub.add_parser("list", help="list algorithms and their settings")
    ls.set_defaults(func=cmd_list)

    rp = sub.add_parser("report", help="normalised scores across tasks: IQM, mean, median, optimality gap, "
                        "performance profiles and probability of improvement with bootstrap intervals")
    rp.add_argument("dirs", nargs="+", metavar="DIR[:LABEL]",
                    help="results dirs (train, or sweep: its best point); dirs with the same LABEL (default: "
                    "the algorithm) and env add their runs together")
    rp.add_argument("--out", default="report", help="dir for report.md, report.tex, figures (default report)")
    rp.add_argument("--scores", metavar="FILE.json",
                    help='random and reference score per env, {"ENV": {"random": x, "reference": y}}, either '
                    "optional (default: a measured random policy, purerl/analysis/reference_scores.json)")
    rp.add_argument("--task-bootstrap", action="store_true", help="resample the tasks too, not only the runs")
    rp.add_argument("--reps", type=int, help="bootstrap resamples (default 9999)")
    rp.add_argument("--seed", type=int, help="bootstrap seed (default 0)")
    rp.set_defaults(func=cmd_report)

    from purerl.analysis import plot
    plot.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, argv)
    except ValueError as e:
        print(f"purerl: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("purerl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
