"""Where events may be POSTed. In production never into a private network: a clinic's key
must not make our worker call the hosts beside it (server-side request forgery)."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Awaitable[list[str]]]
TargetCheck = Callable[[str], Awaitable[str | None]]

PRIVATE_ADDRESS = "private_address"


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope (%eth0) is no part
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global


def _refusal(host: str, address: str) -> str:
    return f"{host} is a private address ({address}): events go to public hosts only"


def literal_refusal(url: str) -> str | None:
    """Why the URL names a private host outright (an address or localhost), if it does."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return _refusal(host, "loopback")
    try:
        public = _is_public(host)
    except ValueError:
        return None  # a name: checked when it is resolved, before each POST
    return None if public else _refusal(host, host)


async def private_target_refusal(url: str, resolver: Resolver = resolve) -> str | None:
    """Why the URL must not be called, if it names or resolves to a private address.

    A name that does not resolve is let through: the POST then fails with its own error.
    """
    refusal = literal_refusal(url)
    if refusal is not None:
        return refusal
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = await resolver(host, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError:
        return None
    except (ValueError, UnicodeError):  # a port past 65535, a DNS label too long
        return f"{host} cannot be resolved: the URL's host or port is not valid"
    for address in addresses:
        if not _is_public(address):
            return _refusal(host, address)
    return None
