"""The JSON answers of events' routes, as the OpenAPI document shows them. Times are the ISO 8601
strings the answers have always carried (``datetime.isoformat``): the instant in UTC, and the
same instant on the local clock (``…_local``)."""

from pydantic import BaseModel, Field


class LocalEvent(BaseModel):
    """A council meeting, hackathon or fair."""

    id: str
    organization: str
    title: str
    kind: str = Field(
        description="conseil-municipal, conseil-communautaire, hackathon, fete-ou-marche, "
        "reunion-publique, salon, autre"
    )
    starts_at: str = Field(examples=["2026-12-15T19:00:00+00:00"])
    starts_at_local: str = Field(examples=["2026-12-15T20:00:00+01:00"])
    timezone: str = Field(examples=["Europe/Paris"])
    location: str | None
    description: str
    ends_at: str | None
    status: str = Field(description="planned, moved (its start changed), cancelled")


class LocalEvents(BaseModel):
    items: list[LocalEvent]


class CalendarImport(BaseModel):
    """What an import did: the counts, then the local events, soonest first."""

    created: int
    updated: int
    cancelled: int
    unchanged: int
    items: list[LocalEvent]


class ReleaseAnnouncement(BaseModel):
    """A release as announced to anyone: its title and date only."""

    id: str
    organization: str
    title: str
    opens_at: str | None = Field(description="None while held (its event cancelled)")
    opens_at_local: str | None


class UploadWith(BaseModel):
    release: str


class ReleaseContent(BaseModel):
    """A dataset version catalog holds for the release."""

    dataset: str
    version_id: str
    download_url: str = Field(description="Answers 404 until the release opens")


class Release(ReleaseAnnouncement):
    """A release plan as its organization sees it."""

    status: str = Field(description="scheduled, held (its event cancelled), opened, withdrawn")
    local_event_id: str | None
    offset_minutes: int
    timezone: str
    announce: bool
    opened_at: str | None
    delay_seconds: float | None = Field(description="How late it opened")
    upload_with: UploadWith = Field(description="The upload fields that put a file in it")
    contents: list[ReleaseContent] = Field(
        default=[],
        description="Les versions qu'elle ouvrira (ou a ouvertes) / the versions it will open "
        "(or opened), as catalog recorded them",
    )


class Releases(BaseModel):
    items: list[Release]


class ReleaseAnnouncements(BaseModel):
    items: list[ReleaseAnnouncement]
