"""The JSON answers of the webhook routes, as the OpenAPI document shows them. Times are the
ISO 8601 strings the answers have always carried (``datetime.isoformat``)."""

from typing import Any

from pydantic import BaseModel, Field


class Webhook(BaseModel):
    """A subscription as its subscriber reads it: never its secret."""

    id: str
    url: str
    scope: str = Field(description="organization, territory ou/or schema")
    value: str = Field(
        description="L'organisation, le territoire ou le schéma suivi / "
        "the organization, territory or schema followed"
    )
    created_at: str


class WebhookSubscribed(Webhook):
    secret: str = Field(
        description="La clé HMAC des signatures, montrée cette fois seulement / "
        "the HMAC key of the signatures, shown this once only"
    )


class WebhookDelivery(BaseModel):
    """One notification to the subscriber, and the log of trying to deliver it."""

    id: str
    event: str = Field(examples=["dataset.opened"])
    status: str = Field(description="pending, delivered ou/or failed")
    attempts: int
    last_status: int | None = Field(
        description="Le code HTTP de la dernière réponse, aucun si l'adresse n'a pas répondu / "
        "the HTTP status of the last answer, none if the address did not answer"
    )
    last_error: str | None = Field(
        description="Le début de la dernière réponse en erreur / the start of the last error"
    )
    next_attempt_at: str | None = Field(
        description="Le prochain essai, tant que l'envoi est en attente / "
        "the next attempt, while the delivery is pending"
    )
    created_at: str
    delivered_at: str | None
    payload: dict[str, Any] = Field(
        description="Le corps envoyé, signé / the body posted, signed "
        "(event, dataset, title, organization, url, opened_at, release, versions)"
    )


class WebhookDeliveries(BaseModel):
    subscription: Webhook
    items: list[WebhookDelivery] = Field(
        description="Les 100 derniers envois, du plus récent / the last 100, newest first"
    )
