"""Who is on the other end of a connection: the peer's address, or the client behind a trusted proxy.

python-engineio's aiohttp driver reports every client as 127.0.0.1, so per-address limits
counted every customer as one. The address comes from the socket's peer instead; an
`X-Forwarded-For` header is believed only when the peer is a configured trusted proxy
(otherwise anyone could claim any address), and then only the hops the proxies appended.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, List, Optional, Sequence, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def parse_networks(values: Iterable[str]) -> List[Network]:
    networks = []
    for value in values:
        value = value.strip()
        if value:
            networks.append(ipaddress.ip_network(value, strict=False))
    return networks


def _address(value: str) -> Optional[ipaddress._BaseAddress]:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address: Optional[ipaddress._BaseAddress], proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(peer: Optional[str], forwarded_for: Optional[str], proxies: Sequence[Network]) -> str:
    """The client's address: walk X-Forwarded-For from the right while the hop is a trusted proxy."""
    current = peer or "unknown"
    if not forwarded_for or not _trusted(_address(current), proxies):
        return current
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        parsed = _address(hop)
        if parsed is None:
            return current  # garbage in the header: stop at the last address we could vouch for
        current = str(parsed)
        if not _trusted(parsed, proxies):
            return current
    return current


def peer_of_request(request) -> Optional[str]:
    """The TCP peer of an aiohttp request (not `request.remote`, which already trusts nothing else)."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, (list, tuple)) and peer:
        return str(peer[0])
    return request.remote
