"""The env files an operator starts the service from: `.env.example` and what setup_ec2.sh writes."""

import os
import subprocess
from pathlib import Path

import pytest

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
ENV_EXAMPLE = ROOT / ".env.example"


def setting_names() -> set[str]:
    """The environment variable of every setting."""
    return {name.upper() for name in Settings.model_fields}


def parse_systemd_env(text: str) -> dict[str, str]:
    """Read an env file the way systemd's EnvironmentFile= does.

    Whole lines starting with `#` or `;` are comments; everything after the first `=` is
    the value (a `#` inside it included), trimmed, with one pair of surrounding quotes
    removed.
    """
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


RENDER_ENV_FILE = ROOT / "deploy" / "render-env-file.sh"


def setup_ec2_env_file(**overrides: str) -> str:
    """The env file `setup_ec2.sh` writes for a fresh instance, from the renderer it runs.

    Never run setup_ec2.sh itself here: it installs packages and users when run as root.
    """
    assert f"$APP_DIR/deploy/{RENDER_ENV_FILE.name}" in (ROOT / "setup_ec2.sh").read_text()
    env = {**os.environ, **overrides}
    result = subprocess.run(
        ["bash", str(RENDER_ENV_FILE), str(ENV_EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def clear_setting_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop every setting from the process environment, so only the file under test speaks."""
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
