"""Client address resolution: X-Forwarded-For counts only through configured proxies."""

from pathlib import Path
from typing import Any

import pytest

from app.core.client_ip import parse_networks, rate_limit_key, resolve_client_ip
from app.core.config import Settings
from tests.conftest import make_settings

LB = parse_networks(["10.0.0.0/8", "2001:db8:ffff::/48"])


@pytest.mark.parametrize(
    ("peer", "headers", "proxies", "expected"),
    [
        # No trusted proxies (the default): the header is ignored whoever sends it.
        ("203.0.113.7", ["1.2.3.4"], (), "203.0.113.7"),
        # A direct caller that is not a proxy cannot choose its address.
        ("203.0.113.7", ["10.0.0.1"], LB, "203.0.113.7"),
        # Behind the load balancer: the rightmost hop it appended, not the client-written leftmost.
        ("10.0.0.5", ["1.2.3.4, 203.0.113.7"], LB, "203.0.113.7"),
        # Two proxies of ours: skip both.
        ("10.0.0.5", ["1.2.3.4, 203.0.113.7, 10.9.9.9"], LB, "203.0.113.7"),
        # The header split over several lines counts as one list.
        ("10.0.0.5", ["1.2.3.4", "203.0.113.8"], LB, "203.0.113.8"),
        # Ports and IPv6 brackets as some proxies write them.
        ("10.0.0.5", ["203.0.113.9:4431"], LB, "203.0.113.9"),
        ("10.0.0.5", ["[2001:db8:1::7]:443"], LB, "2001:db8:1::7"),
        ("2001:db8:ffff::1", ["2001:db8:1::8"], LB, "2001:db8:1::8"),
        # Garbage is never a client address: stop at the last hop one of ours wrote.
        ("10.0.0.5", ["evil, 10.0.0.7"], LB, "10.0.0.7"),
        ("10.0.0.5", ["not-an-ip"], LB, "10.0.0.5"),
        # No header from the proxy: the proxy itself.
        ("10.0.0.5", [], LB, "10.0.0.5"),
        (None, [], LB, "unknown"),
        ("::ffff:203.0.113.10", [], (), "203.0.113.10"),
    ],
)
def test_resolve_client_ip(peer: str | None, headers: list[str], proxies: Any, expected: str) -> None:
    assert resolve_client_ip(peer=peer, forwarded_for=headers, proxies=proxies) == expected


def test_a_huge_forwarded_chain_is_cut() -> None:
    header = ", ".join(["10.0.0.1"] * 10_000)
    assert resolve_client_ip(peer="10.0.0.5", forwarded_for=[header], proxies=LB) == "10.0.0.1"


def test_ipv6_addresses_are_limited_per_64() -> None:
    assert (
        rate_limit_key("2001:db8:1:2:aaaa::1")
        == rate_limit_key("2001:db8:1:2:bbbb::9")
        == "2001:db8:1:2::/64"
    )
    assert rate_limit_key("203.0.113.7") == "203.0.113.7"
    assert rate_limit_key("testclient") == "testclient"


def test_trusted_proxies_setting_reads_a_comma_list_and_refuses_nonsense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    assert Settings(_env_file=None).trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]  # type: ignore[call-arg]
    monkeypatch.setenv("TRUSTED_PROXIES", "")
    assert Settings(_env_file=None).trusted_proxies == []  # type: ignore[call-arg]
    monkeypatch.setenv("TRUSTED_PROXIES", "*")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_dev_server_leaves_forwarded_headers_to_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's own proxy handling (default: trust 127.0.0.1) would replace the peer first."""
    import app.devserver as devserver

    seen: list[Any] = []
    monkeypatch.setattr(devserver, "serve", lambda options: seen.append(options) or 0)
    devserver._serve(make_settings("http://127.0.0.1:1", Path("/tmp/unused"), web_concurrency=3))
    assert seen[0].proxy_headers is False
    assert seen[0].workers == 3
