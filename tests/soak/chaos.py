"""What the soak run does to the platform: restart each service by SIGTERM and by SIGKILL, kill
nats-server, restart everything; every fault timed, so that a 5xx can be told apart from one
that happened while nothing was down."""

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from datacommune.cli.platform import SERVICES, Platform


@dataclass
class Fault:
    """One thing made to fail, from the blow until every service said it was ready again."""

    what: str
    how: str
    start: float
    end: float | None = None

    @property
    def seconds(self) -> float:
        return (self.end or time.monotonic()) - self.start


class Chaos:
    """Faults on the hub (and on the node's ingest), one at a time, each recorded."""

    def __init__(self, hub: Platform, node: Platform | None) -> None:
        self.hub = hub
        self.node = node
        self.faults: list[Fault] = []
        self.lock = threading.Lock()

    def down_at(self, moment: float, *, grace: float = 2.0) -> bool:
        """Whether something was down (or just coming back) at ``moment``."""
        with self.lock:
            return any(
                f.start - grace <= moment <= (f.end or float("inf")) + grace for f in self.faults
            )

    def _timed(self, what: str, how: str, action: Callable[[], None]) -> Fault:
        fault = Fault(what, how, time.monotonic())
        with self.lock:
            self.faults.append(fault)
        action()
        fault.end = time.monotonic()
        return fault

    def restart(self, *blows: tuple[str, signal.Signals], on: Platform | None = None) -> None:
        """Stop services (``(name, signal)`` each, all at the same moment, as a redeploy does)
        and start them again until each is ready.

        Processes are started from this thread: a child is told to stop when the thread that
        started it ends (PR_SET_PDEATHSIG), so a helper thread must not start one."""
        platform = on or self.hub
        where = "node-" if platform is self.node else ""
        faults = []
        for name, how in blows:
            fault = Fault(f"{where}{name}", how.name, time.monotonic())
            with self.lock:
                self.faults.append(fault)
            faults.append(fault)
            platform.processes[name].send_signal(how)
        for name, how in blows:
            process = platform.processes.pop(name)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # A shutdown that hangs is a finding; leave no process behind to say so.
                process.kill()
                process.wait()
                raise AssertionError(f"{where}{name} still running 30 s after {how.name}") from None
        for name, _ in blows:
            platform.start_service(name)
        for fault, (name, _) in zip(faults, blows, strict=True):
            platform.wait_ready(name, timeout=120)
            fault.end = time.monotonic()

    def kill_nats(self, *, down_for: float = 2.0) -> Fault:
        """SIGKILL the hub's nats-server, leave it down a moment, start it on the same store."""

        def action() -> None:
            process = self.hub.processes.pop("nats")
            process.kill()
            process.wait()
            time.sleep(down_for)
            self.hub.start_nats()
            for name in SERVICES:
                self.hub.wait_ready(name, timeout=120)

        return self._timed("nats", "SIGKILL", action)

    def restart_all(self) -> Fault:
        """Stop the whole hub (services, then NATS) and start it again."""

        def action() -> None:
            self.hub.stop()
            self.hub.start(timeout=120)

        return self._timed("platform", "stop+start", action)
