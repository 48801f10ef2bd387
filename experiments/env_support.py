"""The README's env support table: every gymnax env x every algorithm, trains or refused (why).

Builds each pair's job with default settings (nothing is compiled; `tests/contract/test_gymnax_envs.py`
traces every pair's training program) and, where the results dir of a README row exists, shows its
mean final return and budget in the cell.

    python experiments/env_support.py [--results results]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnax

from purerl.config import registry
from purerl.config.spec import JobSpec
from purerl.io import records
from purerl.runtime import run

# One footnote per kind of refusal, matched on the start of `build`'s one-line message.
REASONS = {
    "is tabular and needs discrete observations": "tabular: needs discrete observations (grids cannot be "
                                                   "discretised)",
    "is tabular and": "tabular: needs discrete observations (`--discretize` maps a 1-D Box)",
    "needs a discrete action space": "needs discrete actions",
    "needs a continuous": "needs continuous (Box) actions",
    "could not be made": "gymnax.make downloads MNIST: refused where that fails (offline)",
}


def measured(results: Path) -> dict[tuple[str, str], str]:
    """(algo, env) -> "return @ budget" from the README rows' results dirs."""
    found = {}
    for summary in sorted(results.glob(f"*/{records.SUMMARY}")):
        info = records.read_summary(summary.parent)
        if info is None or "spec" not in info or info["spec"].get("discretize"):
            continue
        mean = info["final_return"]["mean"]
        steps = info["total_env_steps"]
        budget = f"{steps / 1e6:.3g}M" if steps >= 1e6 else f"{steps / 1e3:.3g}k"
        found[(info["spec"]["algo"], info["spec"]["env"])] = f"{mean:.3g} @ {budget}"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="the results dir of experiments/results.py")
    args = parser.parse_args()
    returns = measured(Path(args.results))
    notes: list[str] = []
    algos = list(registry.ALGORITHMS)
    print("| env | " + " | ".join(f"`{a}`" for a in algos) + " |")
    print("|---" * (len(algos) + 1) + "|")
    for env_id in gymnax.registered_envs:
        cells = []
        for algo in algos:
            try:
                job = run.build(JobSpec.create(algo, env_id, total_steps=10_000), max_devices=1)
                network = job.static.get("network")
                cell = "trains" + (f" ({network})" if network and network != "mlp" else "")
                if (algo, env_id) in returns:
                    cell += f": {returns[(algo, env_id)]}"
            except ValueError as e:
                reason = next((text for start, text in REASONS.items() if start in str(e)), str(e))
                if reason not in notes:
                    notes.append(reason)
                cell = f"refused ({notes.index(reason) + 1})"
            cells.append(cell)
        print(f"| {env_id} | " + " | ".join(cells) + " |")
    print()
    for i, note in enumerate(notes, 1):
        print(f"({i}) {note}. ", end="")
    print()


if __name__ == "__main__":
    main()
