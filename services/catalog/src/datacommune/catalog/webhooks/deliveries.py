"""Signed webhooks: reusers are told when data opens for an organization, a territory or a
schema — a release at a council, or a plain publication.

Deliveries are rows written in the same transaction as the opening they announce, so none is
lost nor sent for something that did not happen; a background sender posts them, signed with
HMAC-SHA256 over ``<timestamp>.<body>`` (header ``X-Datacommune-Signature: sha256=<hex>``, the
timestamp in ``X-Datacommune-Timestamp`` so a receiver can refuse replays), retries with
exponential backoff (2 s, 4 s, 8 s… up to an hour, 12 attempts), and keeps each attempt's
outcome: the subscriber reads its delivery log with its secret.
"""

import asyncio
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.access import organizations
from datacommune.catalog.core.hooks import Opened
from datacommune.catalog.tables import (
    Dataset,
    WebhookDelivery,
    WebhookSubscription,
)
from datacommune.shared import outbound, territories, tracing
from datacommune.shared.outbox import utcnow
from datacommune.shared.problems import Problem
from datacommune.shared.process import background
from datacommune.shared.process.background import Waker

log = structlog.get_logger()

MAX_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 3600
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 2.0
USER_AGENT = "datacommune-webhooks/1"


class InvalidWebhook(Problem):
    type = "/problems/invalid-webhook"
    title = "Adresse de webhook refusée"
    title_en = "Webhook address refused"
    status = 422


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for a body sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def new_secret() -> str:
    return secrets.token_hex(32)


async def check_address(url: str, *, allow_private: bool) -> None:
    """Only http(s) URLs to public addresses: a webhook must not make us call our own network."""
    try:
        await outbound.check_url(url, allow_private=allow_private)
    except (outbound.Refused, outbound.Unreachable) as exc:
        raise InvalidWebhook(exc.fr, exc.en) from None


async def _matching(
    session: AsyncSession, dataset: Dataset, schemas: set[str]
) -> list[WebhookSubscription]:
    subscriptions = (
        await session.scalars(
            select(WebhookSubscription).where(
                or_(
                    (WebhookSubscription.scope == "organization")
                    & (WebhookSubscription.value == dataset.organization),
                    WebhookSubscription.scope == "territory",
                    (WebhookSubscription.scope == "schema")
                    & WebhookSubscription.value.in_({s.split("@")[0] for s in schemas} | schemas),
                )
            )
        )
    ).all()
    # The territory tree is read once, however many territories are subscribed to.
    parents = (
        await organizations.parents(session)
        if any(s.scope == "territory" for s in subscriptions)
        else {}
    )
    return [
        s
        for s in subscriptions
        if s.scope != "territory" or dataset.organization in territories.members(parents, s.value)
    ]


async def notify_opened(session: AsyncSession, opened: Opened) -> int:
    """Queue a ``dataset.opened`` delivery to every matching subscriber; how many."""
    dataset, versions, release = opened.dataset, opened.versions, opened.release
    public_url = opened.public_url
    schemas = {v.schema_id for _, v in versions if v.schema_id}
    subscriptions = await _matching(session, dataset, schemas)
    if not subscriptions:
        return 0
    payload: dict[str, Any] = {
        "event": "dataset.opened",
        "dataset": dataset.slug,
        "title": dataset.title,
        "organization": dataset.organization,
        "url": f"{public_url}/api/v1/datasets/{dataset.slug}",
        "opened_at": utcnow().isoformat(),
        "release": None
        if release is None
        else {
            "id": str(release.release_id),
            "title": release.title,
            "event": release.local_event_title,
            "due_at": release.due_at.isoformat(),
        },
        "versions": [
            {
                "id": str(v.id),
                "resource": r.title,
                "schema": v.schema_id,
                "download_url": f"{public_url}/api/v1/versions/{v.id}/download",
            }
            for r, v in versions
        ],
    }
    for subscription in subscriptions:
        session.add(
            WebhookDelivery(
                id=uuid.uuid4(),
                subscription_id=subscription.id,
                event="dataset.opened",
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=utcnow(),
                traceparent=tracing.traceparent(),
            )
        )
    return len(subscriptions)


def describe(d: WebhookDelivery) -> dict[str, Any]:
    """A delivery as its subscriber reads it in the log."""
    return {
        "id": str(d.id),
        "event": d.event,
        "status": d.status,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "pending" else None,
        "created_at": d.created_at.isoformat(),
        "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
        "payload": d.payload,
    }


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: 2ⁿ seconds, at most an hour."""
    return timedelta(seconds=min(2**attempts, MAX_BACKOFF_SECONDS))


class WebhookSender:
    """The background task posting deliveries; ``wake`` it when some are queued."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        allow_private: bool,
        reader: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._reader = reader or sessionmaker
        self._allow_private = allow_private
        self._waker = Waker()

    def wake(self) -> None:
        self._waker.wake()

    async def run(self) -> None:
        async def one_pass() -> None:
            while await self.send_due():
                pass

        await background.forever(
            one_pass, self._waker, poll=POLL_SECONDS, failed="webhook_sending_failed"
        )

    async def send_due(self) -> int:
        """Send the deliveries whose time has come (a batch); how many were tried."""
        now = utcnow()
        is_due = (WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        # It is woken by every publication, most of which nobody subscribed to: a read tells
        # so without taking the write lock.
        async with self._reader() as session:
            if await session.scalar(select(WebhookDelivery.id).where(*is_due).limit(1)) is None:
                return 0
        async with self._sessionmaker.begin() as session:
            due = (
                await session.execute(
                    select(WebhookDelivery, WebhookSubscription)
                    .join(
                        WebhookSubscription,
                        WebhookSubscription.id == WebhookDelivery.subscription_id,
                    )
                    .where(*is_due)
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(20)
                    .with_for_update(of=WebhookDelivery, skip_locked=True)
                )
            ).all()
            # A lease: another replica leaves these alone while they are being sent.
            for delivery, _ in due:
                delivery.next_attempt_at = now + LEASE
            work = [(d.id, d.attempts, d.payload, s.url, s.secret, d.traceparent) for d, s in due]
        results = await asyncio.gather(*(self._post(w[0], *w[2:]) for w in work))
        async with self._sessionmaker.begin() as session:
            for (delivery_id, attempts, *_), (status, error) in zip(work, results, strict=True):
                done = status is not None and 200 <= status < 300
                tried = attempts + 1
                values: dict[str, Any] = {
                    "attempts": tried,
                    "last_status": status,
                    "last_error": error,
                }
                if done:
                    values.update(status="delivered", delivered_at=utcnow())
                elif tried >= MAX_ATTEMPTS:
                    values.update(status="failed")
                else:
                    values.update(next_attempt_at=utcnow() + backoff(tried))
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id)
                    .values(**values)
                )
        return len(work)

    async def _post(
        self,
        delivery_id: uuid.UUID,
        payload: dict[str, Any],
        url: str,
        secret: str,
        parent: str | None,
    ) -> tuple[int | None, str | None]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        timestamp = str(int(utcnow().timestamp()))
        with tracing.hop("webhook POST", parent, tracing.SpanKind.CLIENT) as span:
            status, error = await self._send(delivery_id, payload, url, secret, body, timestamp)
            span.set_attribute("http.response.status_code", status or 0)
        return status, error

    async def _send(
        self,
        delivery_id: uuid.UUID,
        payload: dict[str, Any],
        url: str,
        secret: str,
        body: bytes,
        timestamp: str,
    ) -> tuple[int | None, str | None]:
        try:
            # Connected to the address checked now, so DNS cannot point it elsewhere after
            # registration; redirects are not followed.
            status, text = await outbound.post(
                url,
                body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "X-Datacommune-Event": str(payload.get("event")),
                    # The same on every attempt: a receiver can drop a delivery it already has.
                    "X-Datacommune-Delivery": str(delivery_id),
                    "X-Datacommune-Timestamp": timestamp,
                    "X-Datacommune-Signature": sign(secret, timestamp, body),
                    # The subscriber may carry on the trace (W3C Trace Context).
                    **tracing.headers(tracing.traceparent()),
                },
                allow_private=self._allow_private,
                within=TIMEOUT_SECONDS,
            )
        except (outbound.Refused, outbound.Unreachable) as exc:
            return None, exc.en[:500]
        return status, None if 200 <= status < 300 else text[:500]
