"""The `purerl` command line: `purerl train ...` and `purerl list`."""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from purerl import registry


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


def metrics_csv(result) -> str:
    import io

    names = ["eval_return", *sorted(k for k in result.metrics if k != "eval_return")]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["env_steps", "seed", *names])
    for i, seed in enumerate(result.seeds):
        for t, steps in enumerate(result.env_steps):
            writer.writerow([int(steps), seed, *(f"{float(result.metrics[n][i, t]):.6g}" for n in names)])
    return buf.getvalue()


def as_python(value):
    """A hyperparameter array as a JSON number, float32 printed short (0.1, not 0.100000001)."""
    import numpy as np

    value = np.asarray(value)
    return value.tolist() if value.dtype.kind in "iub" else float(str(value))


def summary(job, result, argv: list[str]) -> dict:
    import jax

    spec = registry.ALGORITHMS[job.algo]
    final = result.final_return
    best = result.metrics["eval_return"].max(axis=1)
    total = job.trainer.total_steps
    return {
        "algo": job.algo,
        "env": job.env.id,
        "env_kwargs": job.env_kwargs,
        "discretize": job.discretize,
        "hyperparams": {k: as_python(v) for k, v in job.hparams._asdict().items()},
        "static": {k: list(v) if isinstance(v, tuple) else v for k, v in job.static.items()},
        "seeds": result.seeds,
        "total_env_steps": total,
        "evaluation": f"{spec.evaluation} policy, mean undiscounted return over "
        f"{job.static['eval_episodes']} episodes per seed",
        "final_return": {"mean": float(final.mean()), "per_seed": [float(x) for x in final]},
        "best_return": {"mean": float(best.mean()), "per_seed": [float(x) for x in best]},
        "wall_s": result.wall_s,
        "compile_s": result.compile_s,
        "env_steps_per_s": total * len(result.seeds) / result.wall_s,
        "device": str(jax.devices()[0].platform),
        "versions": versions(),
        "command": ["purerl", *argv],
    }


def with_devices(algo: str, devices: int | None, settings: dict) -> dict:
    """Adds --devices as the `devices` setting of algorithms that take one (default: all local devices)."""
    takes = algo in registry.ALGORITHMS and "devices" in registry.static_settings(algo)
    if devices is None:
        if not takes or "devices" in settings:
            return settings
        import jax

        return {**settings, "devices": jax.local_device_count()}
    if not takes:
        users = [name for name in registry.ALGORITHMS if "devices" in registry.static_settings(name)]
        raise ValueError(f"{algo} runs on one device; --devices is for: {', '.join(users)}")
    if settings.get("devices", devices) != devices:
        raise ValueError("--devices and --set devices=... disagree")
    return {**settings, "devices": devices}


def cmd_train(args, argv) -> int:
    from purerl.run import prepare, train

    if args.seeds <= 0:
        raise ValueError(f"--seeds must be positive, got {args.seeds}")
    job = prepare(
        args.algo,
        args.env,
        parse_pairs(args.env_kwargs, "--env-kwargs"),
        total_steps=args.total_steps,
        settings=with_devices(args.algo, args.devices, parse_pairs(args.set, "--set")),
        bins=parse_bins(args.discretize),
        bounds=parse_bounds(args.bounds),
    )
    out = Path(args.out) if args.out else default_out(job.algo, job.env.id)
    check_out_dir(out, args.overwrite)

    seeds = list(range(args.seed, args.seed + args.seeds))
    steps = job.trainer.total_steps
    print(f"training {job.algo} on {job.env.id}: {len(seeds)} seeds x {steps:,} env steps", flush=True)
    result = train(job, seeds)
    out.mkdir(parents=True, exist_ok=True)
    info = summary(job, result, argv)
    write_atomic(out / "metrics.csv", metrics_csv(result))
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


def cmd_list(args, argv) -> int:
    for name, spec in registry.ALGORITHMS.items():
        print(f"{name}: {spec.summary}")
        print(f"  reference env {spec.default_env}, default --total-steps {spec.default_total_steps:,}")
        for key, value in registry.traced_settings(name).items():
            print(f"  {key} = {value!r}  (sweepable)")
        for key, value in registry.static_settings(name).items():
            print(f"  {key} = {value!r}  (static)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="purerl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train K seeds of an algorithm in one compiled call")
    tr.add_argument("algo", help=f"one of: {', '.join(registry.ALGORITHMS)}")
    tr.add_argument("--env", help="gymnax env id (default: the algorithm's reference env)")
    tr.add_argument("--env-kwargs", nargs="*", metavar="K=V", help="env constructor arguments")
    tr.add_argument("--total-steps", type=int, help="env steps per seed (default: the algorithm's budget)")
    tr.add_argument("--seeds", type=int, default=1, help="number of seeds K (default 1)")
    tr.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    tr.add_argument("--set", nargs="*", metavar="NAME=VALUE", help="any setting (see `purerl list`)")
    tr.add_argument("--devices", type=int, metavar="N",
                    help="devices to shard the actors over, each running num_envs of them "
                    "(algorithms with a devices setting, e.g. a3c; default: all local devices)")
    tr.add_argument("--discretize", metavar="BINS", help="discretise a Box observation, e.g. 3,3,8,12")
    tr.add_argument("--bounds", metavar="LO:HI,...", help="discretiser bounds per dim (use --bounds=...)")
    tr.add_argument("--out", help="results dir (default runs/ALGO-ENV-TIME)")
    tr.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    tr.set_defaults(func=cmd_train)

    ls = sub.add_parser("list", help="list algorithms and their settings")
    ls.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, argv)
    except ValueError as e:
        print(f"purerl: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
