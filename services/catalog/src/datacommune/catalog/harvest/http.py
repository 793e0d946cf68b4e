"""Reading a harvest source over HTTP, within limits: http(s) only, public addresses only
(unless ``ALLOW_PRIVATE_HARVEST``), 10 s per request, 20 MiB per page, at most 5 redirects,
each checked like the first. Every way it can go wrong is a ``SourceError`` with a stable code
and a French and English message, for the run log."""

from dataclasses import dataclass
from typing import Any

import httpx

from datacommune.shared import outbound

USER_AGENT = "datacommune-harvester/1"


class SourceError(Exception):
    """A page of a source could not be read; ``code`` is stable, the messages say why."""

    def __init__(
        self, code: str, detail: str, detail_en: str, *, url: str, status: int | None = None
    ) -> None:
        super().__init__(detail_en)
        self.code = code
        self.detail = detail
        self.detail_en = detail_en
        self.url = url
        self.status = status

    def as_log(self) -> dict[str, Any]:
        """The entry of the run log."""
        entry: dict[str, Any] = {
            "code": self.code,
            "detail": self.detail,
            "detail_en": self.detail_en,
            "url": self.url,
        }
        if self.status is not None:
            entry["status"] = self.status
        return entry


async def address_problem(url: str, *, allow_private: bool) -> tuple[str, str] | None:
    """Why ``url`` may not be harvested (French, English), or None: http(s) to a public
    address, so that a source cannot make the catalogue call its own network."""
    try:
        await outbound.check_url(url, allow_private=allow_private)
    except (outbound.Refused, outbound.Unreachable) as exc:
        return exc.fr, exc.en
    return None


@dataclass
class Fetcher:
    """Gets pages of one source with the platform's limits, through ``shared.outbound`` (each
    request connects to the address it checked; redirects are checked again)."""

    timeout: float = 10.0
    allow_private: bool = False
    max_bytes: int = 20 * 1024 * 1024

    async def get(self, url: str, params: dict[str, Any] | None = None) -> tuple[bytes, str]:
        """The body and media type of a 200 answer; a ``SourceError`` otherwise."""
        target = str(httpx.URL(url, params=params)) if params else url
        try:
            return await outbound.fetch(
                target,
                allow_private=self.allow_private,
                limit=self.max_bytes,
                within=self.timeout,
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"},
            )
        except outbound.Refused as exc:
            raise SourceError("refused-address", exc.fr, exc.en, url=target) from None
        except outbound.TooLarge:
            limit = self.max_bytes
            raise SourceError(
                "too-large",
                f"Une page du portail dépasse {limit} octets : filtrez la source ou réduisez "
                "les pages.",
                f"A page of the portal exceeds {limit} bytes: filter the source or make pages "
                "smaller.",
                url=target,
            ) from None
        except outbound.Unreachable as exc:
            raise SourceError(
                exc.code, f"Portail : {exc.fr}", f"Portal: {exc.en}", url=target, status=exc.status
            ) from None
