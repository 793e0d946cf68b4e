"""The ledger of a soak run: what became of every accepted upload, what the clients saw while
nothing was down, and whether the platform came back to rest (ready, outboxes pruned)."""

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from datacommune.catalog.rows import loader as rowloader
from datacommune.cli.platform import SERVICES
from tests.soak.run import Soak
from tests.soak.traffic import FINAL, Answer, Sent

# A version's rows answer 503 `rows-not-ready` (documented, with Retry-After) while its table
# loads: just after publication, and after a catalog crash until the dead loader's lease ends.
# Longer than this, after either, is a broken promise.
ROWS_LOADING = rowloader.LEASE.total_seconds() + rowloader.POLL_SECONDS + 20


@dataclass
class Ledger:
    """Figures of one run, and every broken promise found."""

    accepted: Counter[str] = field(default_factory=Counter)
    ended: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    outside_faults: list[str] = field(default_factory=list)
    during_faults: int = 0
    # Seconds since its version's publication, for each rows-not-ready answer.
    rows_loading: list[float] = field(default_factory=list)
    not_ready: list[str] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)
    latencies: list[tuple[float, float]] = field(default_factory=list)

    @property
    def broken(self) -> list[str]:
        return [
            *(f"lost: {x}" for x in self.lost),
            *(f"twice: {x}" for x in self.duplicated),
            *(f"bytes: {x}" for x in self.wrong),
            *(f"unexpected: {x}" for x in self.unexpected),
            *(f"5xx or unreachable outside a fault: {x}" for x in self.outside_faults),
            *(f"not ready: {x}" for x in self.not_ready),
            *(f"outbox not pruned: {k}={v}" for k, v in self.outbox.items() if v),
        ]


def check(soak: Soak, *, rest: float = 20) -> Ledger:
    """Walk every upload through the catalogue; wait up to ``rest`` s for the outboxes."""
    ledger = Ledger()
    sent = [s for s in soak.journal.sent if s.code is not None]
    for s in soak.journal.sent:
        if s.code is None:
            ledger.unexpected.append(f"{s.kind} {s.dataset}: never answered")
    for s in sent:
        if s.kind == "race":
            ledger.accepted[s.kind] += 1
        elif s.accepted:
            ledger.accepted[s.kind] += 1
        else:
            ledger.unexpected.append(f"{s.kind} {s.dataset}: {s.code} {s.body.get('type')}")
    for slug, codes, winners in soak.races:
        if len(set(winners)) != 1 or sorted(codes) != [202] * 4 + [409] * 4:
            ledger.unexpected.append(f"race {slug}: {codes}")
    accepted = [s for s in sent if s.accepted]
    for s in accepted:
        ledger.ended[s.status or "none"] += 1
        if s.status != FINAL[s.kind]:
            ledger.lost.append(f"{s.kind} {s.upload_id}: {s.status}")
        elif s.ended_at is not None:
            ledger.latencies.append((s.sent_at - soak.started, s.ended_at - s.sent_at))
    _in_catalogue(soak, accepted, ledger)
    published_at = {s.version_id: s.ended_at for s in accepted if s.version_id and s.ended_at}
    for failure in soak.journal.failures:
        if soak.chaos.down_at(failure.at):
            ledger.during_faults += 1
        elif _rows_loading(soak, failure, published_at, ledger):
            pass
        else:
            moment = failure.at - soak.started
            ledger.outside_faults.append(
                f"{failure.service} {failure.path} {failure.code} at +{moment:.1f} s"
            )
    for name in SERVICES:
        if _ready(soak.hub.url(name)) is False:
            ledger.not_ready.append(name)
    if _ready(soak.node.url("ingest")) is False:
        ledger.not_ready.append("node-ingest")
    ledger.outbox = _outboxes_at_rest(soak, rest)
    return ledger


def _rows_loading(
    soak: Soak, failure: Answer, published_at: dict[str, float], ledger: Ledger
) -> bool:
    """Whether ``failure`` is a table still loading, within the time promised."""
    if not failure.problem.endswith("/rows-not-ready"):
        return False
    version = failure.path.split("/")[4]  # /api/v1/versions/<id>/rows…
    since = failure.at - published_at.get(version, failure.at)
    ledger.rows_loading.append(since)
    return since <= ROWS_LOADING or soak.chaos.down_at(failure.at, grace=ROWS_LOADING)


def _in_catalogue(soak: Soak, accepted: list[Sent], ledger: Ledger) -> None:
    """Each published file in its dataset exactly once, with the very bytes sent."""
    catalog = soak.hub.url("catalog") + "/api/v1"
    by_dataset: dict[str, list[Sent]] = defaultdict(list)
    for s in accepted:
        by_dataset[s.dataset].append(s)
    with httpx.Client(timeout=30) as client:
        for slug, files in by_dataset.items():
            answer = client.get(f"{catalog}/datasets/{slug}")
            versions: list[dict[str, Any]] = (
                [v for r in answer.json()["resources"] for v in r["versions"]]
                if answer.status_code == 200
                else []
            )
            for s in files:
                if s.kind == "repaired":
                    found = [
                        v
                        for v in versions
                        if (v["repaired"] or {}).get("original_sha256") == s.sha256
                    ]
                else:
                    found = [v for v in versions if v["sha256"] == s.sha256]
                published = FINAL[s.kind] == "published"
                if published and not found:
                    ledger.lost.append(f"{s.kind} {s.upload_id}: not in the catalogue")
                elif len(found) > 1 or (found and not published):
                    ledger.duplicated.append(f"{s.kind} {s.upload_id}: {len(found)} versions")
                elif found:
                    url = (
                        found[0]["repaired"]["original_download_url"]
                        if s.kind == "repaired"
                        else found[0]["download_url"]
                    )
                    if client.get(url).content != s.content:
                        ledger.wrong.append(f"{s.kind} {s.upload_id}")


def _ready(url: str) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def _outboxes_at_rest(soak: Soak, within: float) -> dict[str, int]:
    """Rows left in each outbox once the retention has passed with nothing new coming."""
    counts: dict[str, int] = {}
    deadline = time.monotonic() + within
    while True:
        counts = {name: soak.hub.count(name, "SELECT count(*) FROM outbox") for name in SERVICES}
        node_db = soak.node.var / "ingest.db"
        counts["node-ingest"] = soak.hub.count_at(
            f"sqlite+aiosqlite:///{node_db}", "SELECT count(*) FROM outbox"
        )
        if not any(counts.values()) or time.monotonic() > deadline:
            return counts
        time.sleep(1)


def report(soak: Soak, ledger: Ledger, *, title: str) -> str:
    """The ledger as a person reads it."""
    faults = soak.chaos.faults
    kinds = Counter(f"{f.what} {f.how}" for f in faults)
    recovery = sorted(f.seconds for f in faults if f.end)
    lines = [
        f"== soak ledger: {title} ({time.monotonic() - soak.started:.0f} s) ==",
        "accepted: "
        + ", ".join(f"{k} {v}" for k, v in sorted(ledger.accepted.items()))
        + f" (total {sum(ledger.accepted.values())})",
        "ended: " + ", ".join(f"{k} {v}" for k, v in sorted(ledger.ended.items())),
        f"lost {len(ledger.lost)}, duplicated {len(ledger.duplicated)}, "
        f"wrong bytes {len(ledger.wrong)}, unexpected answers {len(ledger.unexpected)}",
        f"faults: {len(faults)} ({', '.join(f'{k} ×{v}' for k, v in sorted(kinds.items()))})",
        f"recovery: p50 {_q(recovery, 0.5):.1f} s, max {max(recovery, default=0):.1f} s",
        f"requests {soak.journal.requests}: 5xx or unreachable during faults "
        f"{ledger.during_faults}, outside {len(ledger.outside_faults)}",
        f"rows still loading (503 rows-not-ready, Retry-After): {len(ledger.rows_loading)}"
        f" answers, at most {max(ledger.rows_loading, default=0):.1f} s after publication",
        f"races: {len(soak.races)}, each one winner and four 409",
        f"release: opened at +{soak.traffic.opens_at - soak.started:.0f} s, "
        f"seen early {len(soak.early)} times",
        "outbox rows at rest: " + ", ".join(f"{k} {v}" for k, v in ledger.outbox.items()),
    ]
    waits = [w for _, w in ledger.latencies]
    lines.append(
        f"upload→final: p50 {_q(waits, 0.5):.2f} s, p95 {_q(waits, 0.95):.2f} s, "
        f"max {max(waits, default=0):.2f} s"
    )
    peaks: dict[str, list[int]] = defaultdict(list)
    for _, name, rss in soak.rss:
        peaks[name].append(rss)
    lines.append(
        "RSS MiB (first/last/max): "
        + ", ".join(
            f"{n} {v[0] >> 20}/{v[-1] >> 20}/{max(v) >> 20}" for n, v in sorted(peaks.items())
        )
    )
    lines += [f"  BROKEN {b}" for b in ledger.broken[:40]]
    for broken in (ledger.lost + ledger.duplicated)[:5]:
        lines += [f"    {line}" for line in evidence(soak, broken.split()[1].rstrip(":"))]
    return "\n".join(lines)


def evidence(soak: Soak, upload_id: str, most: int = 30) -> list[str]:
    """What the services logged about one upload, to see where it stopped."""
    found = []
    for platform in (soak.hub.platform, soak.node):
        for log in sorted((platform.var / "logs").glob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if upload_id in line:
                    found.append(f"{platform.var.name}/{log.stem}: {line[:300]}")
    return found[:most]


def _q(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]
