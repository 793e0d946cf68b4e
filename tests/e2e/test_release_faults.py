"""Releases when things go wrong: a scheduler whose clock runs ahead, NATS restarted at the
moment. Never early; opened once, as soon as what was missing is back."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
import pytest

from datacommune.shared import events
from tests.platform import Running, running_platform

pytestmark = pytest.mark.e2e


def plan_and_upload(running: Running, org: str, dataset: str, due: datetime) -> tuple[str, str]:
    token = running.organization(org)
    headers = {"Authorization": f"Bearer {token}"}
    plan = httpx.post(
        running.url("events") + "/api/v1/releases",
        json={"title": f"Ouverture {dataset}", "at": due.isoformat()},
        headers=headers,
    )
    assert plan.status_code == 201, plan.text
    upload = running.client.post(
        running.url("ingest") + "/api/v1/uploads",
        data={"dataset": dataset, "release": plan.json()["id"]},
        files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")},
        headers=headers,
    )
    assert upload.status_code == 202, upload.text
    running.wait_status(token, upload.json()["id"], {"scheduled"})
    return plan.json()["id"], token


def visible(running: Running, dataset: str) -> bool:
    return httpx.get(f"{running.url('catalog')}/api/v1/datasets/{dataset}").status_code == 200


def test_a_scheduler_clock_ahead_opens_nothing_early(embedded: Running) -> None:
    """An opening announced 3 s early (as by a scheduler whose clock is ahead) is held by
    catalog until the time comes by its own clock."""
    far = datetime.now(UTC) + timedelta(days=3)
    release_id, _ = plan_and_upload(embedded, "roques-horloge", "horloge-avance", far)
    due = datetime.now(UTC) + timedelta(seconds=3)
    early = events.ReleaseOpened(
        source="events",
        release_id=uuid.UUID(release_id),
        organization="roques-horloge",
        title="Ouverture horloge-avance",
        due_at=due,
        opened_at=due,  # what a clock 3 s ahead believes
    )

    async def publish() -> None:
        connection = await nats.connect(embedded.platform.nats)
        stream = connection.jetstream()
        await stream.publish(
            early.type, early.model_dump_json().encode(), headers={"Nats-Msg-Id": str(early.id)}
        )
        await connection.close()

    asyncio.run(publish())
    while not visible(embedded, "horloge-avance"):
        assert datetime.now(UTC) < due + timedelta(seconds=5), "never opened"
        time.sleep(0.05)
    seen = datetime.now(UTC)
    assert seen >= due, "opened before its time by catalog's clock"
    assert (seen - due).total_seconds() < 2


def test_nats_down_at_the_moment_delays_and_does_not_double(tmp_path: Path) -> None:
    with running_platform(tmp_path) as running:
        # Room for the plan and the upload's validation before the moment, on a busy machine.
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)
        release_id, token = plan_and_upload(running, "roques-panne", "panne-nats", due)
        while datetime.now(UTC) < due - timedelta(seconds=1.5):
            time.sleep(0.05)
        running.platform.kill("nats")
        while datetime.now(UTC) < due + timedelta(seconds=2):
            time.sleep(0.05)
        assert not visible(running, "panne-nats"), "catalog cannot know while NATS is down"
        running.platform.start_nats()
        back = datetime.now(UTC)
        while not visible(running, "panne-nats"):
            assert datetime.now(UTC) < back + timedelta(seconds=20), "never opened"
            time.sleep(0.1)
        release = httpx.get(
            running.url("events") + f"/api/v1/releases/{release_id}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert release["status"] == "opened"
        # The scheduler opened it on time (its database was up); the delay is catalog's.
        assert release["delay_seconds"] < 2
        time.sleep(2)
        feed = httpx.get(running.url("catalog") + "/api/v1/feeds/datasets.atom").text
        assert feed.count("/api/v1/datasets/panne-nats#") == 1
