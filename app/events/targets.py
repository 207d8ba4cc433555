"""Where events may be POSTed. In production never into a private network: a clinic's key
must not make our worker call the hosts beside it (server-side request forgery)."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True, slots=True)
class Pinned:
    """Connect to this address, the one that was checked: a name that resolves elsewhere
    a moment later (DNS rebinding) cannot lead the POST into a private network."""

    address: str


Resolver = Callable[[str, int], Awaitable[list[str]]]
TargetCheck = Callable[[str], Awaitable[str | Pinned | None]]
"""A refusal, the address to connect to, or None: go ahead as the URL says."""

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


async def check_public_target(url: str, resolver: Resolver = resolve) -> str | Pinned | None:
    """Why the URL must not be called, if it names or resolves to a private address;
    otherwise the checked address to call it at.

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
    return Pinned(addresses[0]) if addresses else None


def pinned_request(url: str, pinned: Pinned) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The URL with the checked address for its host, the Host header the server expects,
    and (for HTTPS) the name TLS verifies the certificate against."""
    original = httpx.URL(url)
    address = pinned.address.split("%", 1)[0]
    extensions: dict[str, Any] = {}
    if original.scheme == "https":
        extensions["sni_hostname"] = original.host
    return original.copy_with(host=address), {"Host": original.netloc.decode()}, extensions
