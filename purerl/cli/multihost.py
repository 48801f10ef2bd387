"""`purerl train` and `sweep` over processes and hosts: joining JAX's multi-process runtime, and what
a process does when a peer is lost (one line naming it, the last complete checkpoint and the resume
command, exit status 3) whether it learns so from its watch (`purerl.runtime.processes`), from a
failed collective, or from JAX's client ending it (`purerl.cli.supervise`)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from purerl.cli import supervise


def multi_process(args) -> bool:
    """Whether the command joins JAX's multi-process runtime: then the first process alone checks and
    creates the results dir, once every process has joined (`purerl.runtime.processes.decide`)."""
    return args.distributed or args.coordinator is not None


def check_process_flags(args) -> None:
    """Raises ValueError (one line) on process flags that do not go together."""
    explicit = [args.coordinator, args.num_processes, args.process_id]
    if any(x is not None for x in explicit) and any(x is None for x in explicit):
        raise ValueError("--coordinator, --num-processes and --process-id go together")
    if args.peer_timeout <= 0:
        raise ValueError(f"--peer-timeout must be positive, got {args.peer_timeout}")


def join(args) -> None:
    """Joins JAX's multi-process runtime when asked (before anything touches a device)."""
    check_process_flags(args)
    if multi_process(args):
        from purerl.runtime import processes  # imports JAX: only once all is checked

        processes.join(args.coordinator, args.num_processes, args.process_id, args.peer_timeout)


def lost_line(args, command: str, out: Path, index: int | None, count: int | None) -> str:
    """What a process says when peer `index` (None: not known) of `count` processes is lost."""
    from purerl.runtime import checkpoint  # imports JAX: only when a peer is lost

    step = checkpoint.latest_step(out / "checkpoints")
    kept = ("no checkpoint was written: the resume starts again" if step is None else
            f"last complete checkpoint {out / 'checkpoints' / str(step)}")
    who = "a peer process" if index is None else f"process {index}"
    who += "" if count is None else f" of {count}"
    return (f"{who} is lost (no sign of it for {args.peer_timeout:g} "
            f"s, --peer-timeout); {kept}; continue with: purerl {command} --resume {out} on every process, "
            "with its process flags")


def supervise_if_needed(args, argv: list[str], command: str, out: Path) -> int | None:
    """In a multi-process run started as a program, runs it as a supervised child and returns its exit
    status (`purerl.cli.supervise`); None when this process is to do the work itself."""
    if not multi_process(args) or supervise.supervised() or argv != sys.argv[1:]:
        return None
    check_process_flags(args)
    # JAX's client aborts when the coordinator's service is gone: the lost process is 0, unless this is it.
    index = 0 if args.process_id not in (None, 0) else None
    return supervise.run(lambda: lost_line(args, command, out, index, args.num_processes))


@contextlib.contextmanager
def watched(args, command: str, out: Path) -> Iterator[None]:
    """Inside, in a multi-process runtime, a lost peer stops this process with one line naming it
    (`purerl.runtime.processes.watch`); so does a collective that fails because of one."""
    if not multi_process(args):
        yield
        return
    import jax

    from purerl.runtime import processes

    processes.watch(lambda index: lost_line(args, command, out, index, jax.process_count()),
                    parent=supervise.supervised())
    try:
        yield
    except jax.errors.JaxRuntimeError as e:
        processes.failed_collective(e)
    finally:
        processes.finish()
