"""Fail when a lock file is out of step with the pinned requirements it was compiled from.

`make` installs only the locks, so a pin edited in requirements*.txt without `make lock`
would silently not be installed. Checked (by `make lint`):
- every `name==version` in requirements.txt is in requirements.lock at that version,
- every one in requirements-dev.txt is in requirements-dev.lock at that version,
- every package of requirements.lock is in requirements-dev.lock at the same version
  (tests run on exactly what production installs).
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)")


def normalise(name: str) -> str:
    """PEP 503 name: case and runs of `-_.` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path, *, follow_includes: bool) -> dict[str, str]:
    """name → version for each `name==version` line (and, if asked, of files it `-r` includes)."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if follow_includes and line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip(), follow_includes=True))
        elif match := PIN.match(line):
            found[normalise(match[1])] = match[2]
    return found


def mismatches(wanted: dict[str, str], locked: dict[str, str], lock_name: str) -> list[str]:
    return [
        f"{name}=={version} is {'at ' + locked[name] if name in locked else 'missing'} in {lock_name}"
        for name, version in sorted(wanted.items())
        if locked.get(name) != version
    ]


def main() -> int:
    runtime_lock = pins(ROOT / "requirements.lock", follow_includes=False)
    dev_lock = pins(ROOT / "requirements-dev.lock", follow_includes=False)
    problems = [
        *mismatches(pins(ROOT / "requirements.txt", follow_includes=True), runtime_lock, "requirements.lock"),
        *mismatches(
            pins(ROOT / "requirements-dev.txt", follow_includes=True), dev_lock, "requirements-dev.lock"
        ),
        *mismatches(runtime_lock, dev_lock, "requirements-dev.lock"),
    ]
    for problem in problems:
        sys.stderr.write(f"lock out of date: {problem}\n")
    if problems:
        sys.stderr.write("run `make lock` and commit the lock files\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
