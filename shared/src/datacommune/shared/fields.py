"""The shapes of what people send, each defined once and checked at every edge: slugs, texts
without control characters, instants and days within a sane range.

A value that does not fit is a 422 ``invalid-request`` naming the field, before any handler
runs; so a newline never reaches a calendar or a header, a slug never reaches a query it cannot
match, and a year-1 date never reaches an arithmetic that overflows. The patterns are in the
OpenAPI documents too, so clients and tests know them.
"""

import re
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, StringConstraints

# An organization's slug (« roques », « sicoval »), as organizations are registered.
ORGANIZATION_SLUG = r"^[a-z0-9][a-z0-9-]{1,63}$"
# A dataset's slug, as uploads name it and harvests make it (« subventions-roques »).
DATASET_SLUG = r"^[a-z0-9][a-z0-9-]{1,99}$"
# A resource's key within its dataset: its title or file name, slugified.
RESOURCE_KEY = r"^[a-z0-9][a-z0-9-]{0,199}$"
# No control character (C0, DEL): what RFC 5545 forbids in text and XML 1.0 in documents.
_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# The same, with tabs and line breaks allowed (descriptions).
_LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

# Years a person may give: a century and more on either side of any real meeting, release or
# coverage period, and far from datetime's own limits (years 1 and 9999), where moving an
# instant to UTC or by a release's offset of up to a week overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def is_line(text: str) -> bool:
    """Whether ``text`` is one line without control characters (for fields read by hand)."""
    return re.fullmatch(_ONE_LINE, text) is not None


OrganizationSlug = Annotated[str, StringConstraints(pattern=ORGANIZATION_SLUG)]
DatasetSlug = Annotated[str, StringConstraints(pattern=DATASET_SLUG)]
Line = Annotated[str, StringConstraints(pattern=_ONE_LINE)]
Text = Annotated[str, StringConstraints(pattern=_LINES)]

OrganizationPath = Annotated[str, Path(pattern=ORGANIZATION_SLUG)]
DatasetPath = Annotated[str, Path(pattern=DATASET_SLUG)]
ResourcePath = Annotated[str, Path(pattern=RESOURCE_KEY)]

# In a query, an empty value means no filter (a page's « all » choice sends one).
_OPTIONAL_ORGANIZATION = r"^(?:[a-z0-9][a-z0-9-]{1,63})?$"
OrganizationQuery = Annotated[str | None, Query(pattern=_OPTIONAL_ORGANIZATION)]
TerritoryQuery = Annotated[
    str | None,
    Query(
        pattern=_OPTIONAL_ORGANIZATION,
        description="Une organisation et tout ce qui est en dessous",
    ),
]


def line_query(max_length: int, description: str | None = None, default: str | None = None) -> Any:
    """A one-line query parameter of at most ``max_length`` characters."""
    return Query(default=default, max_length=max_length, pattern=_ONE_LINE, description=description)


Moment = TypeVar("Moment", date, datetime)


def _in_range(value: Moment) -> Moment:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(
            f"l'année doit être entre {FIRST_YEAR} et {LAST_YEAR} / "
            f"the year must be between {FIRST_YEAR} and {LAST_YEAR}"
        )
    return value


Instant = Annotated[datetime, AfterValidator(_in_range)]
Day = Annotated[date, AfterValidator(_in_range)]
