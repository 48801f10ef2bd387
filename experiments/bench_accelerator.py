"""Throughput on one device (a GPU, or the CPU): raw gymnax stepping, every algorithm, a sweep, compiling.

1. The ceiling: N vmapped envs stepped with uniformly random actions in one compiled `lax.scan`
   (gymnax's auto-reset included), nothing else; best of `--repeats` calls, compile excluded.
2. Every neural algorithm at `num_envs` = N: the discrete ones on CartPole-v1, the continuous ones
   on Pendulum-v1. Each run has `--repeats` evaluation periods of at least `--steps` env steps
   (whole updates) and 8 evaluation episodes; env steps/s is one period's steps over its time, best
   period, compile excluded (`run.train_chunked`), so the small evaluation is included. The
   off-policy algorithms learn from their first update (learning_starts 0) with a replay buffer
   of at least N; PPO and A3C run on one device. A row that cannot run (a setting refused, out of
   memory) says why instead of a number.
3. `--sweep-runs` DQN CartPole runs as one program (`purerl.runtime.sweep.sweep`, one device) against the
   same runs one by one (`run.train`, one compiled program reused); the one-by-one time is a
   timed subset of the runs, extrapolated.
4. Compile time of `purerl train dqn` in a fresh process, cold and then from JAX's persistent
   compilation cache (an empty temporary directory).
5. PPO on CartPole-v1 with its defaults for `--ppo-seeds` seeds x 500k env steps as one program
   (PureJaxRL published about 98 s for 2,048 seeds on an A100).

Prints a markdown table; `--out FILE.md` writes it too. On a device with a time limit per command,
run the parts apart (`--skip`, `--algos`).

    python experiments/bench_accelerator.py [--envs 1024,4096,16384,65536] [--quick] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import purerl
from purerl.config import registry
from purerl.config.points import random_points
from purerl.envs import make_env
from purerl.runtime import run
from purerl.runtime.sweep import point_hparams, sweep

DISCRETE, CONTINUOUS = "CartPole-v1", "Pendulum-v1"
ALGOS = {"dqn": DISCRETE, "reinforce": DISCRETE, "a3c": DISCRETE, "ppo": DISCRETE,
         "ddpg": CONTINUOUS, "td3": CONTINUOUS, "sac": CONTINUOUS}
EVAL_EPISODES = 8
RAW_MIN_LENGTH = 64  # steps per env at least, so that a large N still runs long enough to time
SWEEP_SEEDS = 4


def raw_rate(env_id: str, num_envs: int, steps: int, repeats: int) -> tuple[float, float]:
    """(env steps/s, compile s) of `num_envs` vmapped envs with uniformly random actions, stepped
    `steps // num_envs` times (at least `RAW_MIN_LENGTH`) in one compiled scan; the best of `repeats`
    calls."""
    env = make_env(env_id)
    length = max(RAW_MIN_LENGTH, steps // num_envs)

    def random_action(key):
        if env.discrete_actions:
            return jax.random.randint(key, (num_envs,), 0, env.num_actions)
        shape = (num_envs, *env.action_shape)
        return jax.random.uniform(key, shape, minval=env.action_low, maxval=env.action_high)

    def rollout(key):
        reset_key, key = jax.random.split(key)
        obs, state = env.reset(reset_key, num_envs)

        def step(carry, key):
            obs, state = carry
            action_key, step_key = jax.random.split(key)
            _, obs, state = env.step(step_key, state, obs, random_action(action_key))
            return (obs, state), None

        (obs, _), _ = jax.lax.scan(step, (obs, state), jax.random.split(key, length))
        return jnp.sum(obs)  # an output that needs every step

    begin = time.perf_counter()
    program = jax.jit(rollout).lower(jax.random.key(0)).compile()
    compile_s = time.perf_counter() - begin
    times = []
    for r in range(repeats):
        begin = time.perf_counter()
        jax.block_until_ready(program(jax.random.key(r)))
        times.append(time.perf_counter() - begin)
    return length * num_envs / min(times), compile_s


def bench_settings(algo: str, num_envs: int) -> dict:
    """The row's settings: N envs, a replay buffer that holds them, learning from the first update."""
    defaults = registry.defaults(algo)
    settings = {"num_envs": num_envs, "eval_episodes": EVAL_EPISODES}
    if "buffer_size" in defaults:
        settings["buffer_size"] = max(defaults["buffer_size"], num_envs)
    if "learning_starts" in defaults:
        settings["learning_starts"] = 0
    if "devices" in defaults:
        settings["devices"] = 1
    return settings


def algo_rate(algo: str, num_envs: int, steps: int, repeats: int) -> tuple[float, float]:
    """(env steps/s of the best evaluation period, compile s) of one seed of `algo` at N envs."""
    settings = bench_settings(algo, num_envs) | {"num_evals": repeats}
    per_update = run.prepare(algo, ALGOS[algo], settings=settings, total_steps=1).algorithm.steps_per_update
    updates = math.ceil(steps / per_update)
    job = run.prepare(algo, ALGOS[algo], settings=settings, total_steps=repeats * updates * per_update)
    times = []
    result = run.train_chunked(job, on_chunk=lambda progress, chunk_s: times.append(chunk_s))
    if not np.all(np.isfinite(result.final_return)):
        raise FloatingPointError("a non-finite return")
    return job.trainer.steps_per_period / min(times), result.compile_s


def reason(error: Exception) -> str:
    """One short line for the table: why a row could not run."""
    text = " ".join(str(error).split())
    if "RESOURCE_EXHAUSTED" in text or isinstance(error, MemoryError):
        return "out of memory: " + text.split("RESOURCE_EXHAUSTED:")[-1].strip()[:70]
    return f"{type(error).__name__}: {text[:90]}"


def sweep_speedup(runs: int, total_steps: int, timed_runs: int) -> dict:
    """A DQN CartPole sweep of `runs` runs as one program against the same runs one by one."""
    seeds = list(range(SWEEP_SEEDS))
    num_points = max(1, runs // len(seeds))
    points = random_points({"lr": (1e-4, 1e-2, True), "gamma": (0.9, 0.999, False)}, num_points)
    settings = {"num_evals": 4, "eval_episodes": 16}
    job = run.prepare("dqn", DISCRETE, settings=settings, total_steps=total_steps)
    swept = sweep(job, points, seeds, devices=1)

    hparams, _ = point_hparams(job, points)
    pairs = [(p, s) for p in range(num_points) for s in seeds]
    subset = [pairs[i] for i in np.linspace(0, len(pairs) - 1, min(timed_runs, len(pairs)) + 1).astype(int)]
    times = []
    for p, s in subset:  # the first run compiles; the others reuse its program
        begin = time.perf_counter()
        result = run.train(job._replace(hparams=jax.tree.map(lambda x, p=p: x[p], hparams)), seeds=[s])
        times.append((time.perf_counter() - begin, result.compile_s))
    one_by_one = len(pairs) * float(np.mean([t for t, _ in times[1:]]))
    return {"runs": len(pairs), "points": num_points, "seeds": len(seeds), "total_steps": total_steps,
            "sweep_s": swept.wall_s, "sweep_compile_s": swept.compile_s, "timed": len(times) - 1,
            "one_by_one_s": one_by_one, "one_by_one_compile_s": times[0][1]}


def cached_compile(total_steps: int) -> tuple[float, float]:
    """compile_s of `purerl train dqn` in a fresh process, cold and then from the persistent cache."""
    root = str(Path(purerl.__file__).parents[1])  # the subprocesses import this purerl
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        environ = os.environ | {
            "PURERL_COMPILE_CACHE": str(Path(tmp) / "cache"),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
            "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]),
        }
        for attempt in ("cold", "cached"):
            out = Path(tmp) / attempt
            command = [sys.executable, "-m", "purerl", "train", "dqn", "--env", DISCRETE,
                       "--total-steps", str(total_steps), "--set", "num_evals=2", "--out", str(out)]
            done = subprocess.run(command, capture_output=True, text=True, env=environ)
            if done.returncode:
                raise RuntimeError(done.stderr[-2000:])
            found.append(json.loads((out / "summary.json").read_text())["compile_s"])
    return found[0], found[1]


def ppo_seeds(num_seeds: int, total_steps: int) -> dict:
    """PPO on CartPole-v1 with its defaults (PureJaxRL's config) for `num_seeds` seeds, one program."""
    job = run.prepare("ppo", DISCRETE, total_steps=total_steps, seeds=range(num_seeds),
                      settings={"devices": 1})
    result = run.train(job)
    return {"seeds": num_seeds, "total_steps": job.trainer.total_steps, "wall_s": result.wall_s,
            "compile_s": result.compile_s, "final": float(np.mean(result.final_return))}


def table(args, raw: dict, rows: list) -> list[str]:
    device = jax.devices()[0]
    lines = [f"Device: {device.device_kind} ({device.platform}), jax {jax.__version__}; "
             f"best of {args.repeats}, at least {args.steps:,} env steps each, compile excluded", "",
             "| what | envs | env steps/s | ratio to ceiling | compile s |", "|---|---|---|---|---|"]
    for (env_id, n), (rate, compile_s) in raw.items():
        what = f"gymnax {env_id}, random actions (ceiling)"
        lines.append(f"| {what} | {n} | {rate:,.0f} | 1.00 | {compile_s:.1f} |")
    for algo, n, outcome in rows:
        what = f"{algo} on {ALGOS[algo]}"
        if isinstance(outcome, str):
            lines.append(f"| {what} | {n} | n/a ({outcome}) | | |")
        else:
            rate, compile_s = outcome
            ceiling = raw[(ALGOS[algo], n)][0]
            lines.append(f"| {what} | {n} | {rate:,.0f} | {rate / ceiling:.3f} | {compile_s:.1f} |")
    return lines


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ints = lambda text: [int(float(x)) for x in text.split(",")]
    parser.add_argument("--envs", type=ints, help="N, vmapped envs (default 1024,4096,16384,65536)")
    parser.add_argument("--raw-envs", type=ints, default=[], help="more N for the raw ceiling only")
    parser.add_argument("--raw-extra", default="Breakout-MinAtar",
                        help="more envs for the raw ceiling only, comma-separated ('' for none)")
    parser.add_argument("--algos", default=",".join(ALGOS), help="comma-separated (default: all)")
    parser.add_argument("--steps", type=int, help="env steps per timed call or period (default 2^20)")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls or periods, the best counts")
    parser.add_argument("--sweep-runs", type=int, help="DQN sweep runs, 4 seeds per point (default 256)")
    parser.add_argument("--sweep-steps", type=int, help="env steps per sweep run (default 20,000)")
    parser.add_argument("--timed-runs", type=int, default=8, help="one-by-one runs timed (extrapolated)")
    parser.add_argument("--compile-steps", type=int, help="env steps of the compile runs (default 10,000)")
    parser.add_argument("--ppo-seeds", type=int,
                        help="seeds of the PPO CartPole run (default 1024 on an accelerator, 8 on CPU)")
    parser.add_argument("--ppo-steps", type=int, help="env steps per seed of that run (default 500,000)")
    parser.add_argument("--skip", default="",
                        help="parts to leave out, comma-separated: algos, sweep, compile, seeds")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a test")
    parser.add_argument("--out", help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    quick = args.quick
    args.envs = args.envs or ([128] if quick else [1024, 4096, 16384, 65536])
    args.steps = args.steps or (2_048 if quick else 2**20)
    args.sweep_runs = args.sweep_runs or (8 if quick else 256)
    args.sweep_steps = args.sweep_steps or (1_000 if quick else 20_000)
    args.compile_steps = args.compile_steps or (1_000 if quick else 10_000)
    accelerator = jax.devices()[0].platform != "cpu"
    args.ppo_seeds = args.ppo_seeds or (2 if quick else 1024 if accelerator else 8)
    args.ppo_steps = args.ppo_steps or (4_096 if quick else 500_000)
    algos = [a for a in args.algos.split(",") if a]
    unknown = [a for a in algos if a not in ALGOS]
    if unknown:
        parser.error(f"unknown algorithms {unknown}; choose from {', '.join(ALGOS)}")
    skip = {s for s in args.skip.split(",") if s}
    if skip - {"algos", "sweep", "compile", "seeds"}:
        parser.error(f"--skip takes algos, sweep, compile, seeds; got {args.skip!r}")

    envs = sorted({ALGOS[a] for a in algos} | {e for e in args.raw_extra.split(",") if e and not quick})
    raw = {}
    for env_id in envs:
        for n in sorted(set(args.envs) | set(args.raw_envs)):
            raw[(env_id, n)] = raw_rate(env_id, n, args.steps, args.repeats)
            print(f"raw {env_id} x {n}: {raw[(env_id, n)][0]:,.0f} env steps/s", flush=True)
    rows = []
    for algo in [] if "algos" in skip else algos:
        for n in args.envs:
            try:
                outcome = algo_rate(algo, n, args.steps, args.repeats)
            except (ValueError, FloatingPointError, MemoryError, jax.errors.JaxRuntimeError) as error:
                outcome = reason(error)
            rows.append((algo, n, outcome))
            shown = outcome if isinstance(outcome, str) else f"{outcome[0]:,.0f} env steps/s"
            print(f"{algo} x {n}: {shown}", flush=True)
    lines = table(args, raw, rows)

    if "sweep" not in skip:
        s = sweep_speedup(args.sweep_runs, args.sweep_steps, args.timed_runs)
        total = s["sweep_s"] + s["sweep_compile_s"]
        lines += ["", f"Sweep: {s['runs']} DQN {DISCRETE} runs ({s['points']} points x {s['seeds']} seeds, "
                      f"{s['total_steps']:,} env steps each). One program: {s['sweep_s']:.1f} s + "
                      f"{s['sweep_compile_s']:.1f} s compile. One by one: {s['one_by_one_s']:.1f} s + "
                      f"{s['one_by_one_compile_s']:.1f} s compile ({s['timed']} of the {s['runs']} runs "
                      f"timed, extrapolated). Speedup of the sweep: {s['one_by_one_s'] / s['sweep_s']:.1f}x "
                      f"run time only, {(s['one_by_one_s'] + s['one_by_one_compile_s']) / total:.1f}x "
                      "compile included"]
    if "seeds" not in skip:
        r = ppo_seeds(args.ppo_seeds, args.ppo_steps)
        lines += ["", f"PPO {DISCRETE} (its defaults, PureJaxRL's config), {r['seeds']:,} seeds x "
                      f"{r['total_steps']:,} env steps as one program: {r['wall_s']:.1f} s + "
                      f"{r['compile_s']:.1f} s compile ({r['seeds'] * r['total_steps'] / r['wall_s']:,.0f} "
                      f"env steps/s), mean final return {r['final']:.1f}"]
    if "compile" not in skip:
        cold, cached = cached_compile(args.compile_steps)
        lines += ["", f"Compile of `purerl train dqn --env {DISCRETE}` in a fresh process: cold "
                      f"{cold:.1f} s, from the persistent compilation cache {cached:.1f} s"]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text)
    return text


if __name__ == "__main__":
    main()
