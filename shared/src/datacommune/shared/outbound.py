"""Requests to addresses people give us (calendar feeds, portals to harvest, webhooks): public
addresses only, and the connection made to the very address that was checked.

Checking a name and then letting the HTTP client resolve it again would let a second DNS answer
point elsewhere (DNS rebinding); so each request connects to the checked IP while the Host
header and TLS (SNI, certificate) still use the name. Redirects are checked again, proxies from
the environment are ignored (they would defeat the check), and answers are size-limited.
"""

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

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


async def check_url(url: str, *, allow_private: bool) -> None:
    """``Refused`` unless ``url`` is http(s), names a server and a valid port, and that server
    has only public addresses (``Unreachable`` when the name does not resolve)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(
            "L'adresse doit commencer par https:// (ou http://) et nommer un serveur.",
            "The address must start with https:// (or http://) and name a server.",
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused(
            "Le port de l'adresse n'est pas un nombre entre 1 et 65535.",
            "The address's port is not a number between 1 and 65535.",
        ) from None
    await check_address(parts.hostname, port, allow_private=allow_private)


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
        if not allow_private and (why := refusal(address)) is not None:
            raise Refused(
                f"« {host} » désigne une adresse privée, locale ou réservée ({address}, {why}) : "
                "seules les adresses publiques sont acceptées.",
                f"{host!r} is a private, local or reserved address ({address}, {why}): only "
                "public addresses are accepted.",
            )
    return str(addresses[0])


# IANA's special-purpose address registries (IPv4 and IPv6, as of 2025), every entry, whatever
# its "globally reachable" column says: none is where a portal, a calendar or a webhook receiver
# lives, and several lead back into a network (translation prefixes reach IPv4 through a
# gateway: on a NAT64 network 64:ff9b::a9fe:a9fe is 169.254.169.254). Python's ``ipaddress``
# calls some of them global (64:ff9b::/96, 2002::/16 and ::/96 on every version), so it is not
# the judge here; it only parses.
_SPECIAL: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(network), why)
    for network, why in (
        ("0.0.0.0/8", "this network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.31.196.0/24", "AS112"),
        ("192.52.193.0/24", "AMT"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("192.175.48.0/24", "AS112"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("255.255.255.255/32", "broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::ffff:0:0:0/96", "IPv4-translated"),
        ("64:ff9b::/96", "NAT64"),
        ("64:ff9b:1::/48", "NAT64, local use"),
        ("100::/64", "discard-only"),
        ("100:0:0:1::/64", "dummy prefix"),
        ("2001::/23", "IETF protocol assignments"),
        ("2001::/32", "Teredo"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("2620:4f:8000::/48", "AS112"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "SRv6 SIDs"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
# Global unicast IPv6 is 2000::/3; anything outside it is reserved or special.
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` is not a public address we may call (``None``: it is one).

    The most specific special range is named, and an IPv4 address carried inside an IPv6 one
    (6to4, Teredo, NAT64, mapped or compatible forms) is shown, so the refusal says where the
    request would really have gone.
    """
    matches = [(net, why) for net, why in _SPECIAL if address in net]
    if matches:
        net, why = max(matches, key=lambda match: match[0].prefixlen)
        embedded = _embedded_ipv4(address)
        return f"{why} {net}" + (f" → {embedded}" if embedded else "")
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return "reserved (not 2000::/3)"
    if not address.is_global or address.is_multicast:
        return "not global"
    return None


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.sixtofour is not None:
        return str(address.sixtofour)
    if address.teredo is not None:
        return str(address.teredo[1])
    if address.packed[:12] in (bytes(12), bytes.fromhex("0064ff9b0000000000000000")):
        return str(ipaddress.IPv4Address(address.packed[12:]))
    return None


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
    async with _within(within):
        return await _get(url, allow_private=allow_private, limit=limit, headers=headers)


@contextlib.asynccontextmanager
async def _within(seconds: float) -> AsyncIterator[None]:
    """A time limit for the whole exchange, and httpx's failures said in words."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise Unreachable(
            f"Pas de réponse en {seconds:g} secondes.",
            f"No answer within {seconds:g} seconds.",
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
    async with _within(within), httpx.AsyncClient(trust_env=False) as client:
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
