"""The soak run for an hour: uploads of every kind through a hub and a node while faults come
one after another, then the ledger, with upload→final latency and each process's memory over
time.

The CI test (tests/e2e/test_soak.py) plays every fault within a few minutes; this run spaces
them (``--fault-every``) so that what a service holds between two restarts can be seen, and
restarts catalog only in the last stretch, so that its memory is measured over the whole run.
The baseline, timed in the same run over the same HTTP, is ingest's bare answer to an upload
(its 2xx): what is left of upload→final is the trip through validate and catalog, and the
waiting for faults.

    .venv/bin/python bench/soak.py [--minutes 60] [--uploads 10000] [--engine sqlite]
"""

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datacommune.cli.platform import SERVICES  # noqa: E402
from tests.soak import ledger  # noqa: E402
from tests.soak.chaos import Chaos  # noqa: E402
from tests.soak.run import Soak, platforms, play, prepare  # noqa: E402


def plan(minutes: float, fault_every: float) -> Callable[[Soak], None]:
    """Faults in turn until the end: each service by SIGTERM then by SIGKILL, NATS, the node,
    the whole hub; catalog last, so that its memory is followed for most of the run."""
    others = [s for s in SERVICES if s != "catalog"]
    rotation: list[tuple[str, object]] = []
    for how in (signal.SIGTERM, signal.SIGKILL):
        rotation += [("restart", (name, how)) for name in others]
        rotation += [("nats", None), ("node", how)]
    rotation += [("all", None), ("restart", ("catalog", signal.SIGTERM))]

    def run(soak: Soak) -> None:
        end = soak.started + minutes * 60
        step = 0
        while time.monotonic() + fault_every < end:
            soak.stop.wait(fault_every)
            kind, arg = rotation[step % len(rotation)]
            step += 1
            if kind == "restart":
                soak.chaos.restart(arg)  # type: ignore[arg-type]
            elif kind == "nats":
                soak.chaos.kill_nats()
            elif kind == "node":
                soak.chaos.restart(("ingest", arg), on=soak.node)  # type: ignore[arg-type]
            else:
                soak.chaos.restart_all()
            if step % 3 == 0:
                soak.race(step)
        soak.stop.wait(max(0.0, end - time.monotonic()))

    return run


def ended(soak: Soak) -> list[tuple[float, float]]:
    """(sent at, upload→final) of every accepted upload that has ended, in seconds."""
    return [
        (s.sent_at - soak.started, s.ended_at - s.sent_at)
        for s in soak.journal.sent
        if s.accepted and s.ended_at is not None
    ]


def windows(soak: Soak, width: float) -> list[str]:
    """Latency and memory per window of ``width`` seconds."""
    latency: dict[int, list[float]] = defaultdict(list)
    for at, waited in ended(soak):
        latency[int(at // width)].append(waited)
    memory: dict[int, dict[str, int]] = defaultdict(dict)
    for at, name, rss in soak.rss:
        memory[int(at // width)][name] = rss  # the last sample of each window
    names = sorted({name for _, name, _ in soak.rss})
    lines = [
        f"{'window':>8} {'uploads':>7} {'p50 s':>6} {'p95 s':>6}  "
        + " ".join(f"{n[:11]:>11}" for n in names)
    ]
    for w in sorted(set(latency) | set(memory)):
        waits = latency.get(w, [])
        p50 = statistics.median(waits) if waits else 0.0
        p95 = statistics.quantiles(waits, n=20)[-1] if len(waits) > 1 else p50
        mib = " ".join(f"{memory[w].get(n, 0) >> 20:>11}" for n in names)
        lines.append(f"{w * width / 60:>6.0f}m {len(waits):>7} {p50:>6.2f} {p95:>6.2f}  {mib}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--uploads", type=int, default=10_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--fault-every", type=float, default=120, help="seconds between faults")
    parser.add_argument("--window", type=float, default=300, help="seconds per line of figures")
    args = parser.parse_args()
    # Three uploaders, each pausing so that --uploads spread over the run.
    pause = max(0.0, 3 * args.minutes * 60 / args.uploads - 0.15)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="dc-soak-") as root,
        platforms(Path(root), args.engine) as (hub, node),
    ):
        token, rival, traffic = prepare(hub, node, opens_after=min(600, args.minutes * 30))
        soak = Soak(hub, node, token, rival, Chaos(hub.platform, node), traffic)
        play(
            soak,
            plan(args.minutes, args.fault_every),
            uploaders=3,
            pause=pause,
            limit=args.uploads,
            sample_every=10,
        )
        # The figures first: the ledger reads every file back and may take long.
        print(f"load average at end of traffic: {os.getloadavg()}")
        print("\n".join(windows(soak, args.window)))
        posts = [s.answered_at - s.sent_at for s in soak.journal.sent if s.answered_at]
        finals = [waited for _, waited in ended(soak)]
        if posts and finals:
            base, whole = statistics.median(posts), statistics.median(finals)
            print(
                f"baseline, ingest's answer to the POST (same run, same HTTP): p50 {base:.3f} s;"
                f" upload→final p50 {whole:.2f} s = {whole / base:.1f}× the baseline"
            )
        print(f"not ended 3 minutes after the traffic stopped: {len(soak.pending())}", flush=True)
        found = ledger.check(soak, rest=30)
        print(ledger.report(soak, found, title=f"{args.engine}, {args.minutes:.0f} min"))
    sys.exit(1 if found.broken else 0)


if __name__ == "__main__":
    main()
