"""deploy/: the systemd unit and nginx config agree with each other, the settings and the app."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.core.client_ip import parse_networks, resolve_client_ip
from app.core.config import Settings
from app.main import create_app
from app.serve import ServeOptions, parse_args
from tests.envfiles import parse_systemd_env, setup_ec2_env_file

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "dermalens.service"
NGINX = DEPLOY / "nginx"


def unit_values() -> dict[str, str]:
    """`Key=value` lines of the unit, continuation lines joined."""
    text = UNIT.read_text().replace("\\\n", " ")
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = " ".join(value.split())
    return values


def exec_command() -> list[str]:
    """ExecStart's words, with the env file's values for the ${NAME}s systemd substitutes."""
    env = parse_systemd_env(setup_ec2_env_file(S3_BUCKET_NAME="b"))
    words = unit_values()["ExecStart"].split()
    return [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], word) for word in words]


def exec_options() -> ServeOptions:
    """What the launcher makes of ExecStart's arguments (its own parser: a misspelt flag fails)."""
    command = exec_command()
    assert command[:3] == ["/opt/dermalens/.venv/bin/python", "-m", "app.serve"]
    return parse_args(command[3:], settings=Settings(_env_file=None))  # type: ignore[call-arg]


def nginx_text(*names: str) -> str:
    return "\n".join((NGINX / name).read_text() for name in names)


def directive(text: str, name: str) -> list[str]:
    """Every value of one nginx directive (comments ignored)."""
    code = re.sub(r"#.*", "", text)
    return [m.group(1).strip() for m in re.finditer(rf"(?m)^\s*{re.escape(name)}\s+([^;]+);", code)]


def seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)(s|m)?", value)
    assert match, value
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def size_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([km])?", value.lower())
    assert match, value
    return int(match.group(1)) * {"k": 1024, "m": 1024 * 1024, None: 1}[match.group(2)]


# ---- the systemd unit ----


def test_the_unit_is_valid_for_systemd(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd (scripts/system-packages.txt)")
    python = shutil.which("python", path=str(ROOT / ".venv" / "bin"))
    assert python, "the venv's python"
    # Only the install path differs from the instance: verify checks that the binary exists.
    unit = tmp_path / "dermalens.service"
    unit.write_text(UNIT.read_text().replace("/opt/dermalens/.venv/bin/python", python))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    # Unknown keys and bad values are only warnings to systemd; here they are failures.
    assert result.stderr.strip() == "", result.stderr


def test_the_unit_restarts_on_failure_inside_a_sandbox() -> None:
    values = unit_values()
    assert values["Restart"] == "on-failure"
    assert values["NoNewPrivileges"] == "true"
    assert values["ProtectSystem"] == "strict"
    assert values["PrivateTmp"] == "true"
    assert values["User"] == "dermalens"


def test_the_only_writable_path_is_the_data_dir_the_env_file_names() -> None:
    env = parse_systemd_env(setup_ec2_env_file(S3_BUCKET_NAME="b"))
    assert unit_values()["ReadWritePaths"] == env["DERMALENS_DATA_DIR"] == "/var/lib/dermalens"
    assert unit_values()["EnvironmentFile"] == "/etc/dermalens/dermalens.env"


def test_stopping_leaves_time_for_open_requests_and_in_flight_analysis() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    graceful = exec_options().timeout_graceful_shutdown
    assert graceful is not None  # open requests get a bounded time, not forever
    # The longest analysis: every attempt of a Gemini call timing out.
    analysis = defaults.gemini_timeout_seconds * (1 + defaults.gemini_max_retries)
    assert int(unit_values()["TimeoutStopSec"]) > graceful + analysis
    assert unit_values()["KillSignal"] == "SIGTERM"


# ---- uvicorn behind nginx: addresses, keep-alive ----


def test_the_launcher_listens_on_loopback_and_trusts_only_nginx_for_forwarded_headers() -> None:
    options = exec_options()
    assert options.app == "app.main:create_app"
    assert options.factory
    assert options.host == "127.0.0.1"
    assert options.proxy_headers is True
    assert options.forwarded_allow_ips == "127.0.0.1"
    upstream = directive(nginx_text("upstream.conf"), "server")
    assert upstream == [f"127.0.0.1:{options.port}"]
    assert options.port == Settings(_env_file=None).port  # type: ignore[call-arg]


def test_the_unit_runs_a_worker_per_core_without_server_header_or_access_log() -> None:
    options = exec_options()
    assert options.workers == 2  # WEB_CONCURRENCY, the env file's (and the unit's) default
    assert options.server_header is False
    assert options.access_log is False


def test_idle_connections_are_closed_by_the_side_that_opened_them() -> None:
    """ALB idle (60 s) < nginx keepalive_timeout; nginx upstream keepalive < uvicorn's: no 502s."""
    alb_idle_default = 60
    client_side = seconds(directive(nginx_text("proxy.conf"), "keepalive_timeout")[0])
    upstream_side = seconds(directive(nginx_text("upstream.conf"), "keepalive_timeout")[0])
    uvicorn_side = exec_options().timeout_keep_alive
    assert client_side > alb_idle_default
    assert upstream_side < uvicorn_side
    assert directive(nginx_text("upstream.conf"), "keepalive")  # upstream connections are reused at all
    assert directive(nginx_text("proxy.conf"), "proxy_http_version") == ["1.1"]
    assert 'Connection ""' in directive(nginx_text("proxy.conf"), "proxy_set_header")


def test_nginx_forwards_the_client_address_and_scheme() -> None:
    headers = directive(nginx_text("proxy.conf"), "proxy_set_header")
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in headers
    assert "X-Forwarded-Proto $dermalens_forwarded_proto" in headers
    assert "map $http_x_forwarded_proto $dermalens_forwarded_proto" in nginx_text("upstream.conf")


def client_seen_by_the_app(forwarded_for: str, *, trusted_proxies: list[str]) -> str:
    """A request from nginx (127.0.0.1) through uvicorn's proxy middleware as the unit sets it,
    then the app's own resolution with TRUSTED_PROXIES."""

    def endpoint(request: Request) -> PlainTextResponse:
        ip = resolve_client_ip(
            peer=request.client.host if request.client else None,
            forwarded_for=request.headers.getlist("x-forwarded-for"),
            proxies=parse_networks(trusted_proxies),
        )
        return PlainTextResponse(ip)

    app = ProxyHeadersMiddleware(
        Starlette(routes=[Route("/", endpoint)]), trusted_hosts=exec_options().forwarded_allow_ips or ""
    )
    client = TestClient(app, client=("127.0.0.1", 50000))
    return client.get("/", headers={"X-Forwarded-For": forwarded_for}).text


def test_a_spoofed_forwarded_for_does_not_change_who_the_app_sees() -> None:
    # nginx appends the address it saw after whatever the client wrote.
    assert client_seen_by_the_app("6.6.6.6, 203.0.113.7", trusted_proxies=[]) == "203.0.113.7"


def test_behind_a_load_balancer_the_app_walks_past_its_hops() -> None:
    # ALB (10.0.1.5) appended the phone's address; nginx appended the ALB's.
    seen = client_seen_by_the_app("6.6.6.6, 198.51.100.9, 10.0.1.5", trusted_proxies=["10.0.0.0/16"])
    assert seen == "198.51.100.9"


# ---- nginx and the app ----


def test_the_body_limit_is_the_apps_request_limit() -> None:
    limit = size_bytes(directive(nginx_text("proxy.conf"), "client_max_body_size")[0])
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert limit == defaults.max_request_body_bytes
    assert limit >= defaults.max_image_bytes


def test_the_chat_stream_is_not_buffered_and_outlives_its_keepalive() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    text = nginx_text("proxy.conf")
    block = re.search(r"location = (\S+) \{(.*?)\}", text, flags=re.DOTALL)
    assert block
    paths = create_app(settings).openapi()["paths"]
    assert block.group(1) in paths
    assert block.group(1).endswith("/chat/messages/stream")
    body = block.group(2)
    assert directive(body, "proxy_buffering") == ["off"]
    assert seconds(directive(body, "proxy_read_timeout")[0]) > 4 * settings.chat_sse_keepalive_seconds


@pytest.mark.parametrize("name", ["dermalens.conf", "dermalens-tls.conf"])
def test_both_server_configs_proxy_the_same_way_and_answer_certbot(name: str) -> None:
    text = nginx_text(name)
    assert "include /etc/nginx/dermalens/upstream.conf;" in text
    assert "include /etc/nginx/dermalens/proxy.conf;" in text
    assert "location /.well-known/acme-challenge/" in text
    assert "__SERVER_NAME__" in text  # setup_ec2.sh fills in DOMAIN


def test_the_tls_config_redirects_http_and_serves_the_certificate() -> None:
    text = nginx_text("dermalens-tls.conf")
    assert "return 301 https://$host$request_uri;" in text
    assert directive(text, "ssl_certificate") == ["/etc/letsencrypt/live/__SERVER_NAME__/fullchain.pem"]
    assert directive(text, "ssl_protocols") == ["TLSv1.2 TLSv1.3"]


def test_setup_installs_every_deploy_file_it_ships() -> None:
    script = (ROOT / "setup_ec2.sh").read_text()
    for path in ("deploy/dermalens.service", "deploy/nginx/upstream.conf", "deploy/nginx/proxy.conf"):
        assert f"$APP_DIR/{path}" in script
    assert "deploy/nginx/$template" in script
