"""Write the OpenAPI document and the mobile app's TypeScript types generated from it.

    .venv/bin/python scripts/generate_client_types.py          # rewrite clients/typescript/
    .venv/bin/python scripts/generate_client_types.py --check  # exit 1 if they are stale

The types come from `openapi-typescript` (pinned in package.json, installed by `npm ci`).
The suite runs `--check` (tests/api/test_openapi.py), so a change to the API without
regenerated types fails CI.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402

OUT_DIR = ROOT / "clients" / "typescript"
OPENAPI_JSON = OUT_DIR / "openapi.json"
TYPES = OUT_DIR / "dermalens-api.d.ts"
GENERATOR = ROOT / "node_modules" / ".bin" / "openapi-typescript"


def openapi_text() -> str:
    """The document exactly as the app serves it (settings fixed: the document depends on none)."""
    settings = Settings(_env_file=None, environment="test", secret_key="x" * 48)  # type: ignore[call-arg]
    return json.dumps(create_app(settings).openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def generate() -> dict[Path, str]:
    """path → content of every generated file."""
    if not GENERATOR.exists():
        raise SystemExit(f"{GENERATOR} is missing: run `npm ci` (openapi-typescript is in package.json)")
    document = openapi_text()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "openapi.json"
        target = Path(tmp) / "types.d.ts"
        source.write_text(document)
        subprocess.run(
            [str(GENERATOR), str(source), "--output", str(target)], check=True, capture_output=True
        )
        types = target.read_text()
    return {OPENAPI_JSON: document, TYPES: types}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    files = generate()
    if args.check:
        stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is not current: run scripts/generate_client_types.py")
        return 1 if stale else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
