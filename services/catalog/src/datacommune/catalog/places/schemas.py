"""What the places API takes and answers."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]


class PlaceIn(BaseModel):
    """Une commune : son code INSEE, son nom, son centre et, si connue, son emprise / a commune:
    its INSEE code, name, centre and, when known, its bounding box (WGS 84 degrees)."""

    model_config = ConfigDict(extra="forbid")

    insee_code: str = Field(pattern=r"^[0-9][0-9AB][0-9]{3}$", examples=["31458"])
    name: str = Field(min_length=1, max_length=200, examples=["Roques"])
    longitude: Longitude
    latitude: Latitude
    west: Longitude | None = None
    south: Latitude | None = None
    east: Longitude | None = None
    north: Latitude | None = None

    @model_validator(mode="after")
    def _whole_box(self) -> "PlaceIn":
        sides = (self.west, self.south, self.east, self.north)
        if any(s is not None for s in sides) and any(s is None for s in sides):
            raise ValueError("a bounding box needs west, south, east and north")
        if self.west is not None and (self.west > self.east or self.south > self.north):  # type: ignore[operator]
            raise ValueError("west must not be east of east, nor south north of north")
        return self


class PlacesIn(BaseModel):
    """Des communes d'un référentiel nommé / places from a named reference."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1,
        max_length=300,
        description="D'où viennent ces chiffres / where these figures come from",
        examples=["geo.api.gouv.fr (IGN Admin Express), 2026-01"],
    )
    items: list[PlaceIn] = Field(max_length=5000)


class PlacesStored(BaseModel):
    stored: int


class Place(BaseModel):
    """Une commune du référentiel / a place of the reference."""

    insee_code: str
    name: str
    centre: list[float] = Field(description="[longitude, latitude]")
    bbox: list[float] | None = Field(
        description="[ouest, sud, est, nord] / [west, south, east, north]"
    )
    source: str
    updated_at: str
