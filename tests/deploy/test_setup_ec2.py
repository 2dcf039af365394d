"""setup_ec2.sh: --dry-run prints every step and runs nothing; the IMDSv2 role check; shellcheck."""

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "setup_ec2.sh"

# Everything the script could change the machine with; in a dry run none may even start.
STUBBED = (
    "apt-get", "dnf", "yum", "rpm", "dpkg-query", "useradd", "systemctl", "systemd-run", "nginx",
    "curl", "rsync", "install", "mkdir", "chown", "chmod", "rm", "mv", "ln", "cp", "pip",
    "python3", "python3.11", "sha256sum", "certbot", "runuser", "sudo",
)  # fmt: skip
STEPS = (
    "check the operating system",
    "check the instance role through IMDSv2",
    "install system packages",
    "service user dermalens and directories",
    "copy the application to /opt/dermalens",
    "Python virtualenv",
    "environment file /etc/dermalens/dermalens.env",
    "check DynamoDB and S3 access with the instance role",
    "systemd unit /etc/systemd/system/dermalens.service",
    "nginx reverse proxy",
    "start dermalens",
    "health check",
)
# What a real run would create; a dry run must leave each exactly as it was.
TARGETS = (
    "/opt/dermalens",
    "/etc/dermalens",
    "/var/lib/dermalens",
    "/etc/systemd/system/dermalens.service",
    "/etc/nginx/conf.d/dermalens.conf",
    "/etc/nginx/dermalens",
    "/var/www/certbot",
)

AL2023 = 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nVERSION_ID="2023"\n'
UBUNTU = 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n'


@pytest.fixture
def stub_bin(tmp_path: Path) -> tuple[Path, Path]:
    """A PATH directory whose every command only records that it was called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for name in STUBBED:
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit 0\n')
        stub.chmod(0o755)
    return bin_dir, log


def dry_run(
    stub_bin: tuple[Path, Path], tmp_path: Path, os_release: str, *args: str
) -> subprocess.CompletedProcess[str]:
    bin_dir, _ = stub_bin
    release = tmp_path / "os-release"
    release.write_text(os_release)
    # /bin for the shell's own tools (cat, sed, grep are read-only); the stubs come first.
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "OS_RELEASE": str(release), "HOME": str(tmp_path)}
    return subprocess.run(
        ["bash", str(SETUP), "--dry-run", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def snapshot() -> dict[str, bool]:
    return {target: os.path.lexists(target) for target in TARGETS}


@pytest.mark.parametrize("os_release", [AL2023, UBUNTU], ids=["amazon-linux-2023", "ubuntu-24.04"])
def test_dry_run_prints_every_step_and_runs_nothing(
    stub_bin: tuple[Path, Path], tmp_path: Path, os_release: str
) -> None:
    before = snapshot()
    result = dry_run(stub_bin, tmp_path, os_release)
    assert result.returncode == 0, result.stderr
    assert not stub_bin[1].exists(), f"commands ran in a dry run:\n{stub_bin[1].read_text()}"
    assert snapshot() == before
    headers = re.findall(r"^==> \[(\d+)/(\d+)\] (.*)$", result.stdout, flags=re.MULTILINE)
    assert [int(n) for n, _, _ in headers] == list(range(1, len(STEPS) + 1))
    for (_, _, title), expected in zip(headers, STEPS, strict=True):
        assert title.startswith(expected)
    assert result.stdout.rstrip().endswith("dry run finished: nothing was changed")
    # Each change it would make is shown as the command itself.
    for command in (
        "useradd --system",
        "-m venv /opt/dermalens/.venv",
        "pip install --quiet --require-hashes -r /opt/dermalens/requirements.lock",
        "install -D -m 0644 -o root -g root /opt/dermalens/deploy/dermalens.service",
        "systemctl enable dermalens",
        "nginx -t",
        "systemctl restart dermalens",
        "curl -sS -f --max-time 5 http://127.0.0.1:8000/health/ready",
        "scripts/check_aws_access.py",
    ):
        assert f"would run: {command}" in result.stdout or command in result.stdout, command


def test_dry_run_installs_with_the_package_manager_of_the_os(
    stub_bin: tuple[Path, Path], tmp_path: Path
) -> None:
    amazon = dry_run(stub_bin, tmp_path, AL2023).stdout
    ubuntu = dry_run(stub_bin, tmp_path, UBUNTU).stdout
    assert "would run: dnf install -y python3.11 python3.11-pip rsync nginx" in amazon
    assert "apt-get" not in amazon
    assert "apt-get install -y -q python3 python3-venv rsync nginx curl" in ubuntu
    assert "dnf" not in ubuntu


def test_dry_run_asks_imdsv2_for_a_token_before_any_metadata_read(
    stub_bin: tuple[Path, Path], tmp_path: Path
) -> None:
    lines = [
        line for line in dry_run(stub_bin, tmp_path, AL2023).stdout.splitlines() if "169.254.169.254" in line
    ]
    assert "-X PUT http://169.254.169.254/latest/api/token" in lines[0]
    assert "X-aws-ec2-metadata-token-ttl-seconds" in lines[0]
    reads = lines[1:]
    assert reads
    assert all("X-aws-ec2-metadata-token: $TOKEN" in line for line in reads)


def test_an_unsupported_os_stops_before_any_change(stub_bin: tuple[Path, Path], tmp_path: Path) -> None:
    result = dry_run(stub_bin, tmp_path, 'ID="centos"\nVERSION_ID="7"\n')
    assert result.returncode == 1
    assert "unsupported OS 'centos 7'" in result.stderr
    assert "what to do: launch Amazon Linux 2023 or Ubuntu 24.04" in result.stderr
    assert not stub_bin[1].exists()


def test_an_unknown_option_is_refused(stub_bin: tuple[Path, Path], tmp_path: Path) -> None:
    result = dry_run(stub_bin, tmp_path, AL2023, "--yes")
    assert result.returncode == 2
    assert "unknown option '--yes'" in result.stderr


# ---- the instance-role check against a metadata service that, like IMDSv2, needs a token ----


class FakeImds(BaseHTTPRequestHandler):
    """IMDSv2 with HttpTokens=required: a tokenless GET is 401, like on a hardened instance."""

    token = "token-123"
    role_attached = True
    calls: list[tuple[str, str, str | None]] = []

    def do_PUT(self) -> None:
        self.calls.append(("PUT", self.path, self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")))
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._answer(400, "")
            return
        self._answer(200, self.token)

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, self.headers.get("X-aws-ec2-metadata-token")))
        if self.headers.get("X-aws-ec2-metadata-token") != self.token:
            self._answer(401, "")
        elif self.path == "/latest/meta-data/iam/info" and self.role_attached:
            info = {
                "Code": "Success",
                "InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/dermalens",
            }
            self._answer(200, json.dumps(info, indent=2))
        elif self.path == "/latest/meta-data/placement/region":
            self._answer(200, "eu-west-1")
        else:
            self._answer(404, "")

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def imds() -> Iterator[str]:
    FakeImds.calls = []
    FakeImds.role_attached = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeImds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def role_check(endpoint: str) -> subprocess.CompletedProcess[str]:
    """Run only the role-check step of the real (not dry) script, with the real curl."""
    if shutil.which("curl") is None:
        pytest.fail("curl is needed for this test (apt-get install curl)")
    script = f'source "{SETUP}"; check_instance_role; echo "region=$INSTANCE_REGION"'
    env = {**os.environ, "IMDS": endpoint}
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_the_role_check_uses_a_token_and_names_the_instance_profile(imds: str) -> None:
    result = role_check(imds)
    assert result.returncode == 0, result.stderr
    assert "instance profile: arn:aws:iam::123456789012:instance-profile/dermalens" in result.stdout
    assert "region=eu-west-1" in result.stdout
    assert FakeImds.calls[0] == ("PUT", "/latest/api/token", "300")
    assert all(token == FakeImds.token for method, _, token in FakeImds.calls if method == "GET")
    assert FakeImds.token not in result.stdout  # the token is never printed


def test_an_instance_without_a_role_is_told_how_to_attach_one(imds: str) -> None:
    FakeImds.role_attached = False
    result = role_check(imds)
    assert result.returncode == 1
    assert "this instance has no IAM role" in result.stderr
    assert "associate-iam-instance-profile" in result.stderr


def test_no_metadata_service_is_a_clear_failure() -> None:
    result = role_check("http://127.0.0.1:9")  # discard port: nothing answers
    assert result.returncode == 1
    assert "no IMDSv2 token" in result.stderr
    assert "--http-tokens required" in result.stderr


# ---- shellcheck on every shell script of the repository ----


def shell_scripts() -> list[Path]:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / path for path in tracked]


def test_every_shell_script_is_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: apt-get install shellcheck (scripts/system-packages.txt)")
    scripts = shell_scripts()
    assert SETUP in scripts
    assert ROOT / "deploy" / "render-env-file.sh" in scripts
    result = subprocess.run(
        ["shellcheck", "--severity=style", *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


# ---- a real run, twice, in a sandbox: the second run changes nothing ----

SANDBOX_STUBS = {
    # name: shell body; $STATE is a directory where the stubs keep what "happened".
    "dpkg-query": 'echo "install ok installed"',
    "apt-get": "exit 0",
    "useradd": 'for last; do :; done; touch "$STATE/user-$last"',
    "id": '[ -f "$STATE/user-$2" ]',
    "systemctl": """
case "$1" in
  is-enabled) [ -f "$STATE/enabled-$3" ] ;;
  is-active) [ -f "$STATE/active-$3" ] ;;
  enable) touch "$STATE/enabled-$2" ;;
  start|restart) touch "$STATE/active-$2" ;;
esac""",
    "nginx": "exit 0",
    "curl": 'echo \'{"status":"ready"}\'',
    # The real `install`, minus owners (the sandbox has no `dermalens` user).
    "install": """
args=""
skip=0
for a; do
  if [ $skip = 1 ]; then skip=0; continue; fi
  case "$a" in -o|-g) skip=1; continue ;; esac
  args="$args '$a'"
done
eval exec /usr/bin/install $args""",
    # The Python that setup installs with: a venv whose pip only records what it would install.
    "python3": """
case "$*" in
  *"-m venv"*) for dir; do :; done; mkdir -p "$dir/bin"
    printf '#!/bin/sh\\necho "pip $*" >> "%s"\\n' "$LOG" > "$dir/bin/pip"
    cp "$dir/bin/pip" "$dir/bin/python"; chmod +x "$dir/bin/pip" "$dir/bin/python" ;;
  *secrets*) echo "sandbox-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz" ;;
esac""",
}


def sandbox_run(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """setup_ec2.sh for real, with every system path under tmp_path and system tools stubbed."""
    bin_dir, state, log = tmp_path / "bin", tmp_path / "state", tmp_path / "calls.log"
    bin_dir.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    for name, body in SANDBOX_STUBS.items():
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "$LOG"\n{body}\n')
        stub.chmod(0o755)
    release = tmp_path / "os-release"
    release.write_text(UBUNTU)
    root = tmp_path / "root"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STATE": str(state),
        "LOG": str(log),
        "OS_RELEASE": str(release),
        "APP_DIR": str(root / "opt/dermalens"),
        "ENV_DIR": str(root / "etc/dermalens"),
        "DATA_DIR": str(root / "var/lib/dermalens"),
        "UNIT_FILE": str(root / "etc/systemd/system/dermalens.service"),
        "NGINX_DIR": str(root / "etc/nginx"),
        "CERTBOT_WEBROOT": str(root / "var/www/certbot"),
        "SKIP_AWS_CHECKS": "1",
        "S3_BUCKET_NAME": "photos",
    }
    # setup insists on root; without it, a user namespace makes this process root of nothing.
    command = ["bash", str(SETUP)]
    if os.geteuid() != 0:
        if shutil.which("unshare") is None:
            pytest.fail("this test needs root or unshare (util-linux) for a user namespace")
        command = ["unshare", "--map-root-user", *command]
    log.unlink(missing_ok=True)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def installed_files(tmp_path: Path) -> dict[str, tuple[float, bytes]]:
    root = tmp_path / "root"
    paths = [
        "etc/systemd/system/dermalens.service",
        "etc/nginx/conf.d/dermalens.conf",
        "etc/nginx/dermalens/proxy.conf",
        "etc/nginx/dermalens/upstream.conf",
        "etc/dermalens/dermalens.env",
        "opt/dermalens/app/main.py",
        "opt/dermalens/.venv/.requirements.lock.sha256",
    ]
    return {p: ((root / p).stat().st_mtime, (root / p).read_bytes()) for p in paths}


def test_a_real_run_installs_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    first, calls = sandbox_run(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    root = tmp_path / "root"
    assert (root / "etc/systemd/system/dermalens.service").read_text() == (
        ROOT / "deploy/dermalens.service"
    ).read_text()
    assert "server_name _;" in (root / "etc/nginx/conf.d/dermalens.conf").read_text()
    env_file = root / "etc/dermalens/dermalens.env"
    assert "ENVIRONMENT=production" in env_file.read_text()
    assert "S3_BUCKET_NAME=photos" in env_file.read_text()
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert (root / "opt/dermalens/app/main.py").read_bytes() == (ROOT / "app/main.py").read_bytes()
    assert not (root / "opt/dermalens/.git").exists()
    for call in ("useradd --system", "pip install --quiet --require-hashes", "systemctl enable dermalens",
                 "systemctl restart dermalens", "nginx -t -q"):  # fmt: skip
        assert any(c.startswith(call) for c in calls), call
    before = installed_files(tmp_path)

    second, calls = sandbox_run(tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert installed_files(tmp_path) == before  # not rewritten, not even touched
    changing = ("useradd", "apt-get", "pip", "systemctl restart", "systemctl enable", "systemctl reload",
                "systemctl start", "systemctl daemon-reload")  # fmt: skip
    assert [c for c in calls if c.startswith(changing)] == []
    assert "running, nothing changed" in second.stdout
    assert "code unchanged" in second.stdout
    assert "requirements unchanged" in second.stdout


def test_a_changed_unit_is_installed_and_only_then_reloaded(tmp_path: Path) -> None:
    first, _ = sandbox_run(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    installed = tmp_path / "root/etc/systemd/system/dermalens.service"
    installed.write_text(installed.read_text().replace("TimeoutStopSec=150", "TimeoutStopSec=5"))
    second, calls = sandbox_run(tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert installed.read_text() == (ROOT / "deploy/dermalens.service").read_text()
    assert "systemctl daemon-reload" in calls
    assert "systemctl restart dermalens" in calls
    assert not any(c.startswith(("useradd", "pip")) for c in calls)
