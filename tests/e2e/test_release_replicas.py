"""Two schedulers, one SIGKILLed at the moment: every bundle opens once, on time."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests import servers
from tests.figures import record
from tests.platform import running_platform

BUNDLES = 12


@pytest.mark.e2e
@pytest.mark.postgres
def test_two_schedulers_and_a_kill_open_each_bundle_once(
    tmp_path: Path, postgres_available: None
) -> None:
    with (
        servers.postgres_database() as events_db,
        running_platform(tmp_path, databases={"events": events_db}) as running,
    ):
        running.platform.start_replica("events", "events-2", servers.free_port())
        running.platform.wait_ready("events-2")
        token = running.organization("roques-replicas")
        headers = {"Authorization": f"Bearer {token}"}
        # Room for 12 plans and 24 uploads, validated, before the moment, also on a busy machine.
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        plans = []
        for n in range(BUNDLES):
            # Half through each replica: both schedulers know every plan from the database.
            events_url = running.url("events" if n % 2 else "events-2")
            plan = httpx.post(
                f"{events_url}/api/v1/releases",
                json={"title": f"Lot {n}", "at": due.isoformat()},
                headers=headers,
            )
            assert plan.status_code == 201, plan.text
            plans.append(plan.json()["id"])
            for part in ("a", "b"):
                response = running.client.post(
                    running.url("ingest") + "/api/v1/uploads",
                    data={"dataset": f"lot-{n}", "title": f"partie {part}", "release": plans[-1]},
                    files={"file": (f"{part}.csv", f"x,y\n{n},{part}\n".encode(), "text/csv")},
                    headers=headers,
                )
                assert response.status_code == 202, response.text
        assert datetime.now(UTC) < due - timedelta(seconds=1), "plans must be made before"

        # SIGKILL one scheduler just before the moment; the other opens; the first comes back.
        while datetime.now(UTC) < due - timedelta(milliseconds=30):
            time.sleep(0.005)
        running.platform.kill("events")
        catalog = running.url("catalog") + "/api/v1"
        opened_at: dict[int, datetime] = {}
        while len(opened_at) < BUNDLES:
            # A bound on liveness; how late the catalogue showed them is printed below.
            assert datetime.now(UTC) < due + timedelta(seconds=20), "bundles did not open"
            for n in range(BUNDLES):
                if n not in opened_at:
                    answer = httpx.get(f"{catalog}/datasets/lot-{n}")
                    if answer.status_code == 200:
                        opened_at[n] = datetime.now(UTC)
                        # The bundle opens whole: both parts at once, never one.
                        assert len(answer.json()["resources"]) == 2
            time.sleep(0.02)
        assert min(opened_at.values()) >= due, "opened early"
        # Seen by polling twelve datasets one by one: on a busy machine a round of polls alone
        # can take a second, and the catalogue's release clock follows the scheduler's event
        # (5.3 s for the last bundle once, in CI at load 9). The scheduler's own delay, below,
        # is held to 2 s.
        seen = (max(opened_at.values()) - due).total_seconds()
        record(
            "release-replicas",
            f"{BUNDLES} bundles seen open by a reader at most {seen:.2f} s after their moment",
        )

        running.platform.start_service("events")
        running.platform.wait_ready("events")
        time.sleep(2)  # the restarted scheduler has had its chance to open them again
        for plan_id in plans:
            release = httpx.get(
                f"{running.url('events')}/api/v1/releases/{plan_id}", headers=headers
            ).json()
            assert release["status"] == "opened"
            assert 0 <= release["delay_seconds"] < 2
        feed = httpx.get(f"{catalog}/feeds/datasets.atom", params={"limit": 500}).text
        for n in range(BUNDLES):
            assert feed.count(f"/api/v1/datasets/lot-{n}#") == 1, "one opening per bundle"
