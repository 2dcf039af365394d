"""Readiness: can this process serve a user right now?"""

from typing import Any

from app.db.dynamodb import tables_ready
from app.services.container import Container


def readiness(container: Container) -> dict[str, Any]:
    """Checks DynamoDB (every table ACTIVE) and storage; never raises."""
    checks: dict[str, Any] = {}
    try:
        tables = tables_ready(container.dynamodb, container.settings)
        checks["dynamodb"] = {"ok": all(tables.values()), "tables": tables}
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not fail
        checks["dynamodb"] = {"ok": False, "error": type(exc).__name__}
    try:
        container.storage.check()
        checks["storage"] = {"ok": True, "backend": container.storage.name}
    except Exception as exc:  # noqa: BLE001
        checks["storage"] = {"ok": False, "backend": container.storage.name, "error": type(exc).__name__}
    ready = all(check["ok"] for check in checks.values())
    return {"status": "ready" if ready else "not_ready", "checks": checks}
