"""A multi-process command runs in a child process that this one watches.

JAX's client ends a process with a C++ stack trace (SIGABRT) the moment it loses the coordinator's
service, which lives in process 0; no Python handler can step in. So each process of a multi-process
`purerl train` or `sweep` runs the same command again as a child (`SUPERVISED` set in its
environment), passes its output through, and if the child ends that way prints purerl's one line
instead (the lost process, the last complete checkpoint, the resume command) with exit status 3.
JAX's own log lines ("E1206 12:00:00.000 ... file.cc:123] ...") and gloo's connection chatter are
left out of the output. A child that dies of another signal makes this process die of the same one;
a child whose parent is gone stops (`purerl.runtime.processes.watch`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable

SUPERVISED = "PURERL_SUPERVISED"  # set in the child's environment
LOST = 3  # exit status after a lost peer (`purerl.runtime.processes.LOST`)
_LOG = re.compile(rb"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [\w.\-]+:\d+\] |^\[Gloo\] ")
_FATAL = (b"Check failure stack trace", b"Terminating process because the JAX distributed service")


def supervised() -> bool:
    """Whether this process is the supervised child."""
    return os.environ.get(SUPERVISED) == "1"


def run(lost: Callable[[], str]) -> int:
    """Runs this process's own command line again as a child and waits for it: its exit status, or
    after a JAX abort, `purerl: error: {lost()}` and `LOST`. SIGINT and SIGTERM are passed on."""
    child = subprocess.Popen([sys.executable, *sys.orig_argv[1:]], env={**os.environ, SUPERVISED: "1"},
                             stderr=subprocess.PIPE)
    previous = {s: signal.signal(s, lambda signum, frame: child.send_signal(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        aborted = forward(child.stderr, sys.stderr.buffer)
        code = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if aborted or code == -signal.SIGABRT:
        sys.stdout.flush()
        print(f"purerl: error: {lost()}", file=sys.stderr, flush=True)
        return LOST
    if code < 0:  # the child died of a signal (a kill): so does this process
        os.kill(os.getpid(), -code)
    return code


def forward(source, sink) -> bool:
    """Copies `source` to `sink` as it comes (progress bars included), without JAX's log lines and
    gloo's chatter, and nothing after a fatal error. Returns whether a fatal error came."""
    pending, fatal = b"", False
    for chunk in iter(lambda: os.read(source.fileno(), 65536), b""):
        if fatal:
            continue
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if any(marker in line for marker in _FATAL):
                fatal = True
                break
            if not _LOG.match(line):
                sink.write(line + b"\n")
        if not fatal and pending and not pending[:1].isalpha() and not pending.startswith(b"["):
            sink.write(pending)  # a progress bar's \r update: shown now, not at the next newline
            pending = b""
        sink.flush()
    if pending and not fatal and not _LOG.match(pending):
        sink.write(pending)
        sink.flush()
    return fatal
