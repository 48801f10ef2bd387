"""The parent of a multi-process command: what it passes through of its child's output, and that the
flags' defaults agree with the runtime's."""

import io
import os

from purerl.cli import parser, supervise
from purerl.runtime import processes


def forwarded(*chunks: bytes) -> tuple[bytes, bool]:
    read, write = os.pipe()
    for chunk in chunks:
        os.write(write, chunk)
    os.close(write)
    sink = io.BytesIO()
    with os.fdopen(read, "rb") as source:
        fatal = supervise.forward(source, sink)
    return sink.getvalue(), fatal


def test_the_child_output_passes_through_without_jax_log_lines_and_gloo_chatter():
    out, fatal = forwarded(b"sweeping dqn\n[Gloo] Rank 0 is connected to 3 peer ranks.\n",
                           b"E1206 02:16:42.575912   12632 coordination_service_agent.cc:289] Polled an er",
                           b"ror\n\rtraining  50%|", b"#####\n", b"purerl: warning: x\n")
    assert out == b"sweeping dqn\n\rtraining  50%|#####\npurerl: warning: x\n"
    assert not fatal


def test_nothing_passes_after_a_fatal_jax_error_and_the_parent_knows():
    out, fatal = forwarded(b"done 1\n", b"F1206 02:16:42.576607   12632 client.h:80] Terminating process "
                           b"because the JAX distributed service detected fatal errors.\n*** Check failure "
                           b"stack trace: ***\n    @     0x7f5a9ce40634  absl::LogMessage::SendToLog()\n")
    assert out == b"done 1\n"
    assert fatal


def test_the_peer_timeout_flag_defaults_to_the_runtime_timeout():
    assert parser.TIMEOUT_S == processes.TIMEOUT_S
    assert supervise.LOST == processes.LOST
