"""What the soak run sends: one upload of each kind in turn, each with bytes of its own, posted
again (the same bytes) after a connection error or a 5xx until some answer is final."""

import csv
import hashlib
import io
import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "roques-subventions-2025.csv"
EXAMPLE_ROWS = list(csv.reader(io.StringIO(EXAMPLE.read_text(encoding="utf-8"))))
# What each kind must end as, in ingest's words.
FINAL = {
    "valid": "published",
    "invalid": "invalid",
    "repaired": "published",
    "embargoed": "published",
    "node": "published",
    "race": "published",
}
ENDED = {"published", "invalid", "rejected"}
# How long one upload is posted again while the platform is away.
RETRY_FOR = 120.0


@dataclass
class Sent:
    """One upload as the client lived it."""

    kind: str
    dataset: str
    content: bytes
    fields: dict[str, str]
    via: str  # "hub" or "node"
    token: str = ""
    sent_at: float = 0.0
    # When the 2xx (or final 4xx) came back: ingest's own part of the trip.
    answered_at: float | None = None
    code: int | None = None
    upload_id: str | None = None
    attempts: int = 0
    status: str | None = None
    version_id: str | None = None
    ended_at: float | None = None
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def accepted(self) -> bool:
        return self.code in (200, 202)


@dataclass
class Answer:
    """A 5xx or an unreachable service, with when it happened."""

    at: float
    service: str
    path: str
    code: int | None  # None: no answer at all (refused, reset)
    problem: str = ""  # the problem type of a 5xx answered with one


class Journal:
    """Everything the clients saw, shared by their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[Sent] = []
        self.failures: list[Answer] = []
        self.requests = 0

    def answered(self, service: str, path: str, code: int | None, problem: str = "") -> None:
        with self.lock:
            self.requests += 1
            if code is None or code >= 500:
                self.failures.append(Answer(time.monotonic(), service, path, code, problem))


def scdl_rows(seed: int, *, valid: bool = True) -> list[list[str]]:
    """The Roques example with its own reference numbers; an invalid one has a broken date."""
    rows = [list(r) for r in EXAMPLE_ROWS]
    for i, row in enumerate(rows[1:], start=1):
        row[3] = f"DEL-{seed}-{i}"
    if not valid:
        rows[1][2] = "2025-13-45"
    return rows


def as_csv(rows: list[list[str]], *, delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def spreadsheet_export(seed: int) -> bytes:
    """What a French spreadsheet saves (Windows-1252, ``;``, 18/03/2025): invalid as it is,
    valid once its safe repairs are applied."""
    rows = scdl_rows(seed)
    for row in rows[1:]:
        year, month, day = row[2].split("-")
        row[2] = f"{day}/{month}/{year}"
    return as_csv(rows, delimiter=";").encode("cp1252")


def plain_rows(seed: str, n: int = 20) -> bytes:
    lines = ["id,commune,montant,date"]
    lines += [f"{i},{seed}-{i},{i * 10.5:.2f},2025-01-{1 + i % 28:02d}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


class Traffic:
    """Makes the uploads, kind after kind; ``dataset_span`` uploads share a dataset."""

    def __init__(self, *, release_id: str | None, opens_at: float, dataset_span: int = 40) -> None:
        self.release_id = release_id
        self.opens_at = opens_at
        self.span = dataset_span
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> Sent:
        with self._lock:
            n = next(self._counter)
        kinds = ["valid", "invalid", "repaired", "node"]
        # Embargoed files only while their release has not opened (with a margin: a file sent
        # at the very moment may be published at once, which is right but not what is tested).
        if self.release_id and time.monotonic() < self.opens_at - 5:
            kinds.append("embargoed")
        kind = kinds[n % len(kinds)]
        bucket = n // self.span
        if kind == "valid":
            return Sent(kind, f"soak-valide-{bucket}", plain_rows(f"v{n}"), {}, "hub")
        if kind == "invalid":
            content = as_csv(scdl_rows(n, valid=False)).encode()
            return Sent(kind, f"soak-invalide-{bucket}", content, SCDL, "hub")
        if kind == "repaired":
            fields = {**SCDL, "fix": "true"}
            return Sent(kind, f"soak-repare-{bucket}", spreadsheet_export(n), fields, "hub")
        if kind == "embargoed":
            assert self.release_id is not None
            fields = {"release": self.release_id}
            return Sent(kind, "soak-embargo", plain_rows(f"e{n}", 5), fields, "hub")
        return Sent(kind, f"soak-noeud-{bucket}", plain_rows(f"n{n}"), {}, "node")


SCDL = {"schema": "scdl-subventions"}


def post(
    client: httpx.Client, journal: Journal, url: str, token: str, sent: Sent, *, service: str
) -> None:
    """Post ``sent`` until an answer is final: 2xx, or a 4xx (a refusal is an answer too)."""
    sent.token = token
    sent.sent_at = time.monotonic()
    deadline = sent.sent_at + RETRY_FOR
    while time.monotonic() < deadline:
        sent.attempts += 1
        try:
            answer = client.post(
                url + "/api/v1/uploads",
                data={"dataset": sent.dataset, **sent.fields},
                files={"file": (f"{sent.dataset}.csv", sent.content, "text/csv")},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        except httpx.HTTPError:
            journal.answered(service, "/api/v1/uploads", None)
            time.sleep(0.3)
            continue
        journal.answered(service, "/api/v1/uploads", answer.status_code, problem_type(answer))
        if answer.status_code >= 500:
            time.sleep(0.3)
            continue
        if answer.status_code == 429:
            # A polite client waits as told (the soak's clients share one address).
            time.sleep(float(answer.headers.get("Retry-After", "1")))
            continue
        sent.code = answer.status_code
        sent.answered_at = time.monotonic()
        if sent.accepted:
            sent.upload_id = answer.json()["id"]
        else:
            sent.body = answer.json()
        return


def problem_type(answer: httpx.Response) -> str:
    """The problem type of a 5xx answered with problem JSON, else ""."""
    if answer.status_code >= 500 and answer.headers.get("content-type", "").startswith(
        "application/problem+json"
    ):
        return str(answer.json().get("type", ""))
    return ""
