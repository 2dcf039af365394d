"""Who is calling: the peer address, or what a configured proxy says the peer was.

`X-Forwarded-For` is written by whoever sends the request: only hops appended by proxies we
were told to trust (TRUSTED_PROXIES, addresses or CIDRs, default none) mean anything. Each
proxy appends the address it saw, so the caller is the rightmost hop that is not one of ours.
"""

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HOPS = 32  # a longer chain is not a real deployment; do not walk megabytes of header


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.0/8`, `192.0.2.1`, `2001:db8::/32` → networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _address(value: str) -> Address | None:
    """An address from one hop: bare, `v4:port`, or `[v6]:port`; None if it is not one."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def resolve_client_ip(*, peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str:
    """The caller's address; X-Forwarded-For counts only when the peer is a trusted proxy."""
    if not peer:
        return "unknown"
    peer_address = _address(peer)
    if peer_address is None or not proxies or not _trusted(peer_address, proxies):
        return str(peer_address) if peer_address else peer
    hops = [hop for header in forwarded_for for hop in header.split(",")][-MAX_HOPS:]
    client = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Not written by one of our proxies (they write addresses): stop at the last good hop.
            break
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)


def rate_limit_key(ip: str) -> str:
    """IPv6 clients are keyed by their /64: one subscriber holds a whole /64 and can rotate in it."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
