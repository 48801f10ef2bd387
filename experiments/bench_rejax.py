"""purerl against rejax, side by side in one run, on the same configs.

rejax 0.1.3 needs gymnax 0.0.9 (five-value `step`), so it runs in a separate
virtual environment that this script creates (`.venv-rejax`, from PyPI) and
is timed in a subprocess (`rejax_worker.py`); purerl runs in this process. Both
train one seed with the same env, number of envs, total steps, network sizes,
batch size, buffer size, updates per env step and evaluation schedule: 20
evaluations of 128 episodes, at the same steps (rejax's evaluation before
training is skipped, and rejax runs purerl's total, which purerl rounds down to
whole evaluation periods). Each row prints both env steps/s after compilation,
their ratio and both final returns; the env steps are the ones each library took
(rejax's final `global_step`), which differ only in a3c-ppo.

Rows:
  dqn-1env   DQN, CartPole-v1, rejax's DQN defaults: 1 env, 131,072 buffer, batch 256
  dqn-8env   DQN, CartPole-v1, 8 envs, 10,000 buffer
  ddpg-td3   purerl's DDPG against rejax's TD3 (its defaults) on Pendulum-v1 (rejax has no DDPG; TD3
             adds twin critics, target-policy smoothing and delayed actor updates, so it computes more
             per step); td3-td3 is the matched comparison
  a3c-ppo    time to a return of 475 on CartPole-v1: purerl's A3C against rejax's PPO (its defaults,
             500k steps)
  ppo-ppo    PPO on CartPole-v1, PureJaxRL's config on both: 4 envs x 128 steps, 4 epochs of 4
             minibatches (128 samples), MLP 64 x 64 tanh for the policy and for V, Adam 2.5e-4
             annealed linearly to 0 (stepwise per update, over the 980 updates), gamma 0.99, GAE
             lambda 0.95, clip 0.2 (ratio and V), entropy 0.01, V coefficient 0.5, gradient clip 0.5,
             advantages normalised per minibatch, 501,760 env steps (980 updates, 49 per evaluation),
             sampled actions in evaluation
  td3-td3    TD3 on Pendulum-v1: 1 env, one critic step per env step, the actor and both targets
             every 2nd (policy delay 2), buffer 100,000, batch 256, 1,000 steps of uniform actions
             first, MLP 64 x 64 relu actor (tanh output) and twin critics (obs and action in), Adam 1e-3
             for both, tau 0.005 (rejax polyak 0.995), Gaussian exploration 0.1 and target smoothing
             0.2 clipped to 0.5 half-ranges (rejax: 0.2, 0.4 and 1.0 in Pendulum's action units),
             gamma 0.99, no gradient clipping, 50,000 env steps, deterministic evaluation
  sac-sac    SAC on Pendulum-v1: 1 env, one actor, critic and temperature step per env step, buffer
             100,000, batch 256, learning from step 1,000, MLP 64 x 64 relu actor (tanh-squashed
             Gaussian, state-dependent log-std) and twin critics, Adam 1e-3 for actor, critics and
             log alpha, alpha from 1, target entropy -|A|, tau 0.005 (polyak 0.995), gamma 0.99,
             no gradient clipping, 50,000 env steps, evaluation of tanh(mean) (rejax's evaluation
             samples; the worker evaluates tanh(mean) instead)

What rejax 0.1.3 cannot be configured to match (the step counts, gradient steps per env step, batch
and network sizes do match):
  all        gymnax 0.0.9 has one `done`: rejax treats time-limit truncation (CartPole's 500 steps,
             every Pendulum episode's end at 200) as termination, so it does not bootstrap there;
             purerl bootstraps from the pre-reset final observation (PPO: one more V pass per step).
             Output layers are initialised differently (purerl: variance scaling, fan_avg, uniform,
             scale 0.01 for the PPO policy head; rejax: flax's lecun_normal); hidden layers alike.
  ppo-ppo    rejax's `max_grad_norm` is `optax.clip`: it clips each gradient element to +-0.5,
             separately for actor and critic; purerl (like PureJaxRL) clips the global norm of both
             networks' gradient to 0.5. rejax has no learning-rate annealing setting: the worker
             passes rejax's PPO an optax schedule with purerl's steps (lr (1 - k / 980) in update k).
  td3-td3    rejax's actor follows the mean of both critics, purerl's (like the paper) Q1 alone.
             rejax's TD3 hard-codes 64 x 64 (hence that size here). rejax starts learning once
             global_step > fill_buffer, 2 steps later than purerl (of 50,000). rejax's critics take
             the action in env units, purerl's in [-1, 1] units (also in sac-sac).
  sac-sac    order within a step: rejax steps actor, critics, temperature; purerl critics, actor,
             temperature. rejax's temperature loss is -alpha (log pi + target), purerl's
             -log alpha (log pi + target) (same sign, rejax's gradient scaled by alpha). The log-std
             is clipped to [-10, 2] in rejax, [-5, 2] in purerl. Before learning starts rejax acts with
             its untrained policy, purerl uniformly. rejax learns from 1 step later.
  ddpg-td3, a3c-ppo  different algorithms by design (see above).

    python experiments/bench_rejax.py [--rows dqn-1env,dqn-8env,ddpg-td3,a3c-ppo,ppo-ppo,td3-td3,sac-sac]
        [--quick] [--purerl-only]

--quick runs every row for 4,096 nominal env steps (1 update per evaluation for PPO), learning from
step 256: a check that everything runs, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np

from purerl.runtime.run import prepare, train

ROOT = Path(__file__).resolve().parent.parent
REJAX_ENV = ROOT / ".venv-rejax"
REJAX_PACKAGES = ["rejax==0.1.3", "gymnax==0.0.9"]
NUM_EVALS = 20

PENDULUM_HALF_RANGE = 2.0  # purerl's TD3 noises are in half-ranges of the bounds, rejax's in action units

# name -> (purerl algo, rejax algo, env, total steps, shared, purerl-only settings, rejax-only settings);
# shared settings have purerl's names, renamed for rejax by REJAX_NAMES.
ROWS = {
    "dqn-1env": (
        "dqn", "dqn", "CartPole-v1", 131_072,
        {"num_envs": 1, "buffer_size": 131_072, "batch_size": 256, "learning_starts": 2048},
        {"hidden": [64, 64], "double": True, "lr": 3e-4, "tau": 0.01, "target_period": 1,
         "epsilon_end": 0.05, "epsilon_decay": 0.1, "train_freq": 1},
        {},
    ),
    "dqn-8env": (
        "dqn", "dqn", "CartPole-v1", 500_000,
        {"num_envs": 8, "buffer_size": 10_000, "batch_size": 256, "learning_starts": 2048},
        {"hidden": [64, 64], "double": True, "lr": 3e-4, "tau": 0.01, "target_period": 1,
         "epsilon_end": 0.05, "epsilon_decay": 0.1, "train_freq": 1},
        {},
    ),
    "ddpg-td3": (
        "ddpg", "td3", "Pendulum-v1", 50_000,
        {"num_envs": 1, "buffer_size": 131_072, "batch_size": 256, "learning_starts": 2048},
        {"hidden": [64, 64], "tau": 0.01},
        {},
    ),
    "a3c-ppo": ("a3c", "ppo", "CartPole-v1", 500_000, {}, {}, {}),
    # PureJaxRL's CartPole-v1 PPO config; 501,760 = 980 updates of 4 x 128 steps, 49 per evaluation
    "ppo-ppo": (
        "ppo", "ppo", "CartPole-v1", 501_760,
        {"num_envs": 4, "rollout_len": 128, "update_epochs": 4, "num_minibatches": 4, "gamma": 0.99,
         "gae_lambda": 0.95, "clip_eps": 0.2, "entropy_coef": 0.01, "value_coef": 0.5, "max_grad_norm": 0.5},
        {"hidden": [64, 64], "activation": "tanh", "lr": 2.5e-4, "lr_decay": 1.0, "value_clip_eps": 0.2},
        {"agent_kwargs": {"hidden_layer_sizes": [64, 64], "activation": "tanh"}, "learning_rate": 2.5e-4,
         "anneal_lr": True},  # rejax clips V by clip_eps (0.2); anneal_lr: see run_rejax
    ),
    # TD3 (Fujimoto et al.'s settings, noises in half-ranges); rejax's TD3 hard-codes 64 x 64
    "td3-td3": (
        "td3", "td3", "Pendulum-v1", 50_000,
        {"num_envs": 1, "buffer_size": 100_000, "batch_size": 256, "learning_starts": 1000, "gamma": 0.99,
         "policy_delay": 2},
        {"hidden": [64, 64], "actor_lr": 1e-3, "critic_lr": 1e-3, "tau": 0.005, "noise": "gaussian",
         "noise_sigma": 0.1, "target_noise": 0.2, "target_noise_clip": 0.5},
        {"learning_rate": 1e-3, "polyak": 0.995, "target_update_freq": 1, "num_epochs": 1,
         "exploration_noise": 0.1 * PENDULUM_HALF_RANGE, "target_noise": 0.2 * PENDULUM_HALF_RANGE,
         "target_noise_clip": 0.5 * PENDULUM_HALF_RANGE,
         "actor_kwargs": {"activation": "relu"}, "critic_kwargs": {"activation": "relu"}},
    ),
    "sac-sac": (
        "sac", "sac", "Pendulum-v1", 50_000,
        {"num_envs": 1, "buffer_size": 100_000, "batch_size": 256, "learning_starts": 1000, "gamma": 0.99},
        {"hidden": [64, 64], "actor_lr": 1e-3, "critic_lr": 1e-3, "alpha_lr": 1e-3, "tau": 0.005,
         "init_alpha": 1.0, "target_entropy_scale": 1.0},
        {"hidden_layer_sizes": [64, 64], "agent_kwargs": {"activation": "relu"}, "learning_rate": 1e-3,
         "polyak": 0.995, "target_update_freq": 1, "num_epochs": 1, "eval_mean_action": True},
    ),
}
REJAX_NAMES = {
    "num_envs": "num_envs", "buffer_size": "buffer_size", "batch_size": "batch_size",
    "learning_starts": "fill_buffer", "gamma": "gamma", "policy_delay": "policy_delay",
    "rollout_len": "num_steps", "update_epochs": "num_epochs", "num_minibatches": "num_minibatches",
    "gae_lambda": "gae_lambda", "clip_eps": "clip_eps", "entropy_coef": "ent_coef", "value_coef": "vf_coef",
    "max_grad_norm": "max_grad_norm",
}


def ensure_rejax_env() -> Path:
    python = REJAX_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {REJAX_ENV} with {' '.join(REJAX_PACKAGES)} ...", flush=True)
        venv.create(REJAX_ENV, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *REJAX_PACKAGES], check=True)
    return python


def run_rejax(python: Path, algo: str, env: str, nominal: int, total: int, shared: dict, extra: dict) -> dict:
    """rejax's run of `total` env steps (purerl's, rounded to whole evaluation periods), 20 evaluations.

    `anneal_lr` anneals the step size over the `nominal` steps, as purerl's PPO does (whatever the rounding).
    """
    extra = dict(extra)
    if extra.pop("anneal_lr", False):
        extra["anneal_lr_steps"] = nominal
    config = {"algo": algo, "env": env, "total_timesteps": total, "eval_freq": total // NUM_EVALS,
              "skip_initial_evaluation": True, **{REJAX_NAMES[k]: v for k, v in shared.items()}, **extra}
    worker = Path(__file__).with_name("rejax_worker.py")
    out = subprocess.run([python, worker, json.dumps(config)], capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr)
        out.check_returncode()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["compile_s"] = result["first_s"] - result["run_s"]
    return result


def run_purerl(algo: str, env: str, total: int, settings: dict) -> dict:
    job = prepare(algo, env, total_steps=total, settings={"num_evals": NUM_EVALS, **settings})
    result = train(job, seeds=[0])
    curve = result.metrics["eval_return"][0].tolist()
    return {"run_s": result.wall_s, "compile_s": result.compile_s, "curve": curve,
            "steps": result.env_steps.tolist(), "total_steps": job.trainer.total_steps}


def time_to(result: dict, threshold: float, with_compile: bool) -> float:
    """Wall time until the first evaluation at or above `threshold` (inf if never)."""
    hits = [s for s, r in zip(result["steps"], result["curve"]) if r >= threshold]
    if not hits:
        return float("inf")
    run = result["run_s"] * hits[0] / result["total_steps"]
    return run + (result["compile_s"] if with_compile else 0.0)


def report(name: str, ours: dict, theirs: dict) -> None:
    ours_sps = ours["total_steps"] / ours["run_s"]
    theirs_sps = theirs["total_steps"] / theirs["run_s"]
    steps = f"{ours['total_steps']:,}"
    if theirs["total_steps"] != ours["total_steps"]:
        steps = f"purerl {steps}, rejax {theirs['total_steps']:,}"
    print(f"{name}: {steps} env steps")
    print(f"  purerl {ours_sps:>10,.0f} env steps/s, compile {ours['compile_s']:5.1f} s, "
          f"final return {ours['curve'][-1]:8.1f}")
    print(f"  rejax  {theirs_sps:>10,.0f} env steps/s, compile {theirs['compile_s']:5.1f} s, "
          f"final return {theirs['curve'][-1]:8.1f}")
    print(f"  env-steps/s ratio purerl / rejax: {ours_sps / theirs_sps:.2f}x", flush=True)
    if name == "a3c-ppo":
        for with_compile in (False, True):
            a, b = time_to(ours, 475, with_compile), time_to(theirs, 475, with_compile)
            label = "compile included" if with_compile else "compile excluded"
            print(f"  time to 475 ({label}): purerl {a:.1f} s, rejax PPO {b:.1f} s, ratio {b / a:.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: check that everything runs")
    parser.add_argument("--purerl-only", action="store_true", help="skip rejax (no second venv)")
    args = parser.parse_args(argv)
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")

    python = None if args.purerl_only else ensure_rejax_env()
    for name in rows:
        ours_algo, their_algo, env, total, shared, ours_only, theirs_only = ROWS[name]
        if args.quick:
            total = 4096
            shared = {**shared, "learning_starts": 256} if "learning_starts" in shared else shared
        ours = run_purerl(ours_algo, env, total, {**shared, **ours_only})
        if python is None:
            print(f"{name}: purerl {ours['total_steps'] / ours['run_s']:,.0f} env steps/s, "
                  f"final return {ours['curve'][-1]:.1f}")
            continue
        theirs = run_rejax(python, their_algo, env, total, ours["total_steps"], shared, theirs_only)
        report(name, ours, theirs)
        assert np.isfinite(ours["curve"][-1])


if __name__ == "__main__":
    sys.exit(main())
