"""The `purerl` command: argument parsing that builds a job spec and calls `purerl.experiment`.

    purerl train ALGO [--env ID] [--set name=value ...] [--out DIR]   (or --config FILE, --resume DIR)
    purerl sweep ALGO --grid name=v1,v2 ... | --random name=lo:hi[:log] --points P   (or --resume DIR)
    purerl plot DIR...
    purerl report DIR[:LABEL]... [--out OUT] [--scores FILE.json]
    purerl list
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from purerl.cli import multihost
from purerl.cli.args import parse_bins, parse_bounds, parse_grid, parse_pairs, parse_ranges
from purerl.cli.multihost import multi_process, supervise_if_needed, watched
from purerl.cli.parser import build_parser
from purerl.config import points as sweep_points
from purerl.config import registry, suites
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
        if not multi_process(args):  # else the first process checks it, once all have joined
            records.check_out(out, args.overwrite)
    loggers.check(tensorboard=args.tensorboard, wandb=args.wandb)
    supervised = supervise_if_needed(args, argv, "train", out)
    if supervised is not None:
        return supervised
    start_jax(args)
    from purerl import experiment  # here, not above: it imports JAX and the env suites

    options = experiment.Options(
        overwrite=args.overwrite, checkpoint_every=args.checkpoint_every, tensorboard=args.tensorboard,
        wandb=args.wandb, wandb_project=args.wandb_project, show_progress=True, interruptible=True,
        compile_cache=not args.no_compile_cache, command=["purerl", *argv])
    try:
        with watched(args, "train", out):
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
    info = records.read_summary(out) if lead() else None
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
        if not multi_process(args):  # else the first process checks it, once all have joined
            records.check_out(out, args.overwrite)
    supervised = supervise_if_needed(args, argv, "sweep", out)
    if supervised is not None:
        return supervised
    start_jax(args, cpu_devices=True)
    from purerl import experiment  # here, not above: it imports JAX and the env suites

    options = experiment.Options(compile_cache=not args.no_compile_cache, command=["purerl", *argv])
    if args.resume is not None:
        try:
            with watched(args, "sweep", out):
                result = experiment.resume_sweep(out, options)
        except experiment.Finished as done:
            print(done)
            return 0
        return report_sweep(out, result)
    swept = {"grid": axes} if axes else {"random": {k: list(v) for k, v in ranges.items()},
                                          "points": args.points, "sweep_seed": args.sweep_seed}
    if lead():
        print(f"sweeping {spec.algo} on {spec.env}: {len(points)} points x {spec.num_seeds} seeds x "
              f"{spec.total_steps:,} env steps, one program", flush=True)
    options = options.replace(overwrite=args.overwrite, chunk_size=args.chunk_size, devices=args.devices,
                              checkpoint_every=args.checkpoint_every)
    with watched(args, "sweep", out):
        result = experiment.sweep(spec, points, out, options, swept=swept, eval_seeds=args.eval_seeds)
    return report_sweep(out, result)


def report_sweep(out: Path, result) -> int:
    info = records.read_summary(out) if lead() else None
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
    if args.envs is not None:
        return list_envs(args.envs)
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


def list_envs(which: str) -> int:
    """`purerl list --envs [SUITE]`: the env ids of each suite (of SUITE), or how to install it."""
    if which != "all" and which not in suites.SUITES:
        raise ValueError(f"unknown env suite {which!r}; purerl's suites are: {', '.join(suites.SUITES)}")
    for suite in suites.SUITES if which == "all" else [which]:
        try:
            suites.check_installed(suite)
        except ValueError as e:
            print(f"{suite}: not installed ({str(e).split(': ', 1)[1]})")
            continue
        from purerl.envs import env_names  # imports JAX and the suite

        names = env_names(suite)
        print(f"{suite} {suites.version(suite)}: {len(names)} envs")
        for name in names:
            print(f"  {name}")
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


def lead() -> bool:
    """Whether this process prints the results (the first of a multi-process runtime, or the only one)."""
    import jax  # imported already by then

    return jax.process_index() == 0


def start_processes(args) -> None:
    """Joins JAX's multi-process runtime when asked (before anything touches a device)."""
    multihost.join(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"train": cmd_train, "sweep": cmd_sweep, "list": cmd_list, "report": cmd_report}
    args = build_parser(commands, __doc__).parse_args(argv)
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
