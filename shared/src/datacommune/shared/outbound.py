"""Requests to addresses people give us (calendar feeds, portals to harvest, webhooks): public
addresses only, and the connection made to the very address that was checked.

Checking a name and then letting the HTTP client resolve it again would let a second DNS answer
point elsewhere (DNS rebinding); so each request connects to the checked IP while the Host
header and TLS (SNI, certificate) still use the name. Redirects are checked again, proxies from
the environment are ignored (they would defeat the check), and answers are size-limited.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Mapping

import httpx

MAX_REDIRECTS = 5


class Refused(Exception):
    """The address is not one we fetch: not http(s), or private/local."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(en)
        self.fr, self.en = fr, en


class Unreachable(Exception):
    """The address could not be read: ``code`` says how (``not-found``, ``timeout``,
    ``http-error`` with its ``status``, ``too-many-redirects``, ``unreachable``)."""

    def __init__(
        self, fr: str, en: str, status: int | None = None, *, code: str = "unreachable"
    ) -> None:
        super().__init__(en)
        self.fr, self.en, self.status = fr, en, status
        self.code = "http-error" if status is not None else code


class TooLarge(Exception):
    """The answer is bigger than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


async def check_address(host: str, port: int, *, allow_private: bool) -> str:
    """The IP to connect to for ``host``; ``Refused`` if it is not a public address."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError):
            raise Unreachable(
                f"Le nom « {host} » est introuvable.", f"Host {host!r} not found.", code="not-found"
            ) from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise Unreachable(
            f"Le nom « {host} » est introuvable.", f"Host {host!r} not found.", code="not-found"
        )
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None) or address
        if not allow_private and (not mapped.is_global or mapped.is_multicast):
            raise Refused(
                f"« {host} » désigne une adresse privée ou locale ({address}) : seules les "
                "adresses publiques sont acceptées.",
                f"{host!r} is a private or local address ({address}): only public addresses "
                "are accepted.",
            )
    return str(addresses[0])


async def _pinned(
    client: httpx.AsyncClient,
    method: str,
    target: httpx.URL,
    *,
    allow_private: bool,
    headers: Mapping[str, str],
    content: bytes | None = None,
) -> httpx.Response:
    """Send one request to the checked address of ``target`` (streamed answer)."""
    if target.scheme not in ("http", "https") or not target.host:
        raise Refused(
            "Seules les adresses http:// et https:// sont acceptées.",
            "Only http:// and https:// addresses are accepted.",
        )
    port = target.port or (443 if target.scheme == "https" else 80)
    address = await check_address(target.host, port, allow_private=allow_private)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request(
        method,
        target.copy_with(host=address),
        headers={**headers, "Host": target.netloc.decode("ascii")},
        content=content,
        extensions=extensions,
    )
    return await client.send(request, stream=True)


async def get(
    url: str,
    *,
    allow_private: bool,
    limit: int,
    within: float,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The body at ``url`` (redirects followed and checked), at most ``limit`` bytes, within
    ``within`` seconds in all."""
    body, _ = await fetch(
        url, allow_private=allow_private, limit=limit, within=within, headers=headers
    )
    return body


async def fetch(
    url: str,
    *,
    allow_private: bool,
    limit: int,
    within: float,
    headers: Mapping[str, str] | None = None,
) -> tuple[bytes, str]:
    """Like ``get``, with the answer's media type (lower case, without parameters)."""
    try:
        async with asyncio.timeout(within):
            return await _get(url, allow_private=allow_private, limit=limit, headers=headers)
    except TimeoutError:
        raise Unreachable(
            f"Pas de réponse en {within:g} secondes.",
            f"No answer within {within:g} seconds.",
            code="timeout",
        ) from None
    except httpx.InvalidURL:
        raise Refused("Adresse invalide.", "Invalid address.") from None
    except httpx.HTTPError as exc:
        raise Unreachable(
            f"Adresse injoignable ({type(exc).__name__}).",
            f"Address unreachable ({type(exc).__name__}).",
        ) from None


async def _get(
    url: str, *, allow_private: bool, limit: int, headers: Mapping[str, str] | None
) -> tuple[bytes, str]:
    target = httpx.URL(url)
    async with httpx.AsyncClient(trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            response = await _pinned(
                client, "GET", target, allow_private=allow_private, headers=headers or {}
            )
            try:
                if response.is_redirect:
                    target = target.join(response.headers.get("location", ""))
                    continue
                if response.status_code != 200:
                    raise Unreachable(
                        f"Le serveur a répondu {response.status_code}.",
                        f"The server answered {response.status_code}.",
                        status=response.status_code,
                    )
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > limit:
                    raise TooLarge(limit)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > limit:
                        raise TooLarge(limit)
                media_type = response.headers.get("content-type", "").split(";")[0]
                return bytes(data), media_type.strip().lower()
            finally:
                await response.aclose()
    raise Unreachable(
        f"Plus de {MAX_REDIRECTS} redirections.",
        f"More than {MAX_REDIRECTS} redirects.",
        code="too-many-redirects",
    )


async def post(
    url: str,
    content: bytes,
    *,
    headers: Mapping[str, str],
    allow_private: bool,
    within: float,
) -> tuple[int, str]:
    """POST ``content`` to ``url`` (no redirect followed): the status and the start of the
    answer's text."""
    try:
        async with (
            asyncio.timeout(within),
            httpx.AsyncClient(trust_env=False) as client,
        ):
            response = await _pinned(
                client,
                "POST",
                httpx.URL(url),
                allow_private=allow_private,
                headers=headers,
                content=content,
            )
            try:
                # The first 500 bytes, never the whole answer (a receiver could send gigabytes).
                head = bytearray()
                async for chunk in response.aiter_bytes():
                    head += chunk
                    if len(head) >= 500:
                        break
                text = bytes(head[:500]).decode("utf-8", "replace")
            finally:
                await response.aclose()
            return response.status_code, text
    except TimeoutError:
        raise Unreachable(
            f"Pas de réponse en {within:g} secondes.", f"No answer within {within:g} seconds."
        ) from None
    except httpx.InvalidURL:
        raise Refused("Adresse invalide.", "Invalid address.") from None
    except httpx.HTTPError as exc:
        raise Unreachable(
            f"Adresse injoignable ({type(exc).__name__}).",
            f"Address unreachable ({type(exc).__name__}).",
        ) from None
