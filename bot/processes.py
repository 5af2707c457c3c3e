"""`khaacho serve --workers N`: N server processes sharing one port (SO_REUSEPORT: the kernel
spreads connections over them), supervised by the parent.

The parent migrates once, then starts the children (spawned, not forked: each builds its own
event loop and pool) and waits. A child that dies is started again after a pause; SIGTERM or
SIGINT to the parent is passed to every child, which finishes what it is doing (aiohttp's
shutdown), and the parent exits when they have. Work is split through the database, not here:
the inbox, the sender and the jobs each claim rows under locks (README: How a message flows).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from bot.settings import Settings

log = logging.getLogger(__name__)

_RESTART_SECONDS = 1.0  # a child that died is started again this much later
# Children get their own bound (SHUTDOWN_TIMEOUT_SECONDS) plus this long to exit before they are
# killed: the time to close the pools and the process after the last request.
_STOP_GRACE_SECONDS = 5.0


def child_settings(settings: Settings, workers: int) -> Settings:
    """Each child's settings: the outbox rate is the business number's, so it is shared out."""
    return settings.model_copy(update={
        "outbox_rate_per_second": settings.outbox_rate_per_second / workers})


def _child(settings: Settings, host: str, port: int, role: str) -> None:
    from bot import logs
    from bot.serve import run_app

    logs.setup(settings.log_level)
    run_app(settings, host, port, role=role, reuse_port=True)


def supervise(settings: Settings, host: str, port: int, role: str, workers: int) -> int:
    """Run `workers` children until SIGTERM/SIGINT; returns the exit status."""
    context = multiprocessing.get_context("spawn")
    each = child_settings(settings, workers)
    stopping = False

    def start() -> BaseProcess:
        child = context.Process(target=_child, args=(each, host, port, role), daemon=False,
                                name="khaacho-serve")
        child.start()
        return child

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.is_alive():
                _signal(child, signum)

    children = [start() for _ in range(workers)]
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("serving with %d processes on http://%s:%d (role %s)", workers, host, port, role)
    try:
        while not stopping:
            for i, child in enumerate(children):
                if not child.is_alive() and not stopping:
                    log.error("server process %s exited with %s; starting another in %.0fs",
                              child.pid, child.exitcode, _RESTART_SECONDS)
                    time.sleep(_RESTART_SECONDS)
                    if not stopping:
                        children[i] = start()
            time.sleep(0.2)
        deadline = time.monotonic() + settings.shutdown_timeout_seconds + _STOP_GRACE_SECONDS
        for child in children:
            child.join(max(0.0, deadline - time.monotonic()))
            if child.is_alive():
                log.error("server process %s did not stop; killing it", child.pid)
                child.kill()
                child.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def _signal(child: BaseProcess, signum: int) -> None:
    assert child.pid is not None
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.kill(child.pid, signum)
