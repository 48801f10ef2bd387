"""The parser of the `purerl` command: its subcommands and flags, plain argparse (no JAX imported)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

TIMEOUT_S = 300  # default of --peer-timeout (`purerl.runtime.processes.TIMEOUT_S`, kept equal by a test)


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
    parser.add_argument("--peer-timeout", type=float, default=TIMEOUT_S, metavar="S",
                        help="multi-process: seconds to wait for a slow peer (joining, at each checkpoint) "
                        f"before calling it lost and stopping with a resume line (default {TIMEOUT_S})")


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


def build_parser(commands: Mapping[str, Callable], description: str) -> argparse.ArgumentParser:
    """The `purerl` parser; each command's arguments go to `commands[name](args, argv)`."""
    parser = argparse.ArgumentParser(prog="purerl", description=description,
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
    tr.set_defaults(func=commands["train"])

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
    sw.set_defaults(func=commands["sweep"])

    ls = sub.add_parser("list", help="list algorithms and their settings (or, with --envs, the envs)")
    ls.add_argument("--envs", nargs="?", const="all", metavar="SUITE",
                    help="list the env ids each installed suite offers (or only SUITE's) instead")
    ls.set_defaults(func=commands["list"])

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
    rp.set_defaults(func=commands["report"])

    from purerl.analysis import plot
    plot.add_parser(sub)
    return parser
