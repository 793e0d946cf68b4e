"""Webhook subscriptions: register an address, read its delivery log, unsubscribe."""

import hmac
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from datacommune.catalog.deps import Session, SettingsDep, WebhookLimit
from datacommune.catalog.tables import WebhookDelivery, WebhookSubscription
from datacommune.catalog.webhooks import deliveries as webhooks
from datacommune.catalog.webhooks import schemas
from datacommune.shared.fields import Line
from datacommune.shared.http import RuntimeDep
from datacommune.shared.problems import NotFound

router = APIRouter(prefix="/api/v1/webhooks", tags=["abonnements / webhooks"])


class WebhookIn(BaseModel):
    """Where to post, and for what: one organization, a territory (it and all below), or a
    standard schema."""

    url: Line = Field(max_length=1000, examples=["https://exemple.fr/datacommune"])
    scope: Literal["organization", "territory", "schema"] = "organization"
    value: Line = Field(min_length=1, max_length=200, examples=["roques"])


def _describe(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": str(subscription.id),
        "url": subscription.url,
        "scope": subscription.scope,
        "value": subscription.value,
        "created_at": subscription.created_at.isoformat(),
    }


@router.post(
    "",
    status_code=201,
    response_model=schemas.WebhookSubscribed,
    summary="S'abonner / subscribe",
)
async def subscribe(
    data: WebhookIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    request: Request,
    limit: WebhookLimit,
) -> dict[str, Any]:
    """The answer holds the secret, and only it: keep it to check signatures
    (``X-Datacommune-Signature``, HMAC-SHA256 of ``<timestamp>.<body>``). An address may
    subscribe a limited number of times an hour (429 beyond)."""
    limit.check(request.client.host if request.client else "?")
    await webhooks.check_address(data.url, allow_private=settings.allow_private_webhooks)
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        url=data.url,
        secret=webhooks.new_secret(),
        scope=data.scope,
        value=data.value,
    )
    async with runtime.sessionmaker.begin() as session:
        session.add(subscription)
    return {**_describe(subscription), "secret": subscription.secret}


async def _own(session: Any, webhook_id: uuid.UUID, secret: str | None) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, webhook_id)
    # The same answer for an unknown id and a wrong secret: ids are not to be guessed at.
    if subscription is None or not hmac.compare_digest(subscription.secret, secret or ""):
        raise NotFound(
            "Aucun abonnement avec cet identifiant et ce secret (en-tête X-Webhook-Secret).",
            "No subscription with this id and secret (X-Webhook-Secret header).",
        )
    return subscription  # type: ignore[no-any-return]


SecretHeader = Annotated[str | None, Header(alias="X-Webhook-Secret")]


@router.get(
    "/{webhook_id}/deliveries",
    response_model=schemas.WebhookDeliveries,
    summary="Journal des envois / delivery log",
)
async def deliveries(
    webhook_id: uuid.UUID, session: Session, x_webhook_secret: SecretHeader = None
) -> dict[str, Any]:
    """The last 100 deliveries, newest first, with each one's attempts and last answer."""
    subscription = await _own(session, webhook_id, x_webhook_secret)
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription.id)
        .order_by(WebhookDelivery.created_at.desc())
        .limit(100)
    )
    return {
        "subscription": _describe(subscription),
        "items": [webhooks.describe(d) for d in rows.all()],
    }


@router.delete("/{webhook_id}", status_code=204, summary="Se désabonner / unsubscribe")
async def unsubscribe(
    webhook_id: uuid.UUID, runtime: RuntimeDep, x_webhook_secret: SecretHeader = None
) -> Response:
    async with runtime.sessionmaker.begin() as session:
        subscription = await _own(session, webhook_id, x_webhook_secret)
        await session.delete(subscription)
    return Response(status_code=204)
