"""Account export holds journal entries and period logs; erasure removes them (the owners)."""

from typing import Any

from fastapi.testclient import TestClient

from app.db.keys import JOURNAL_PREFIX, JOURNAL_REF_PREFIX, PERIOD_PREFIX
from tests.conftest import PASSWORD
from tests.helpers import today


def test_export_includes_journal_entries_and_period_logs(client: TestClient, user: dict[str, Any]) -> None:
    headers = user["headers"]
    entry = client.post(
        "/api/v1/journal", headers=headers, json={"date": today(), "mood": "tired", "tags": ["sleep"]}
    )
    period = client.post(
        "/api/v1/cycle/periods", headers=headers, json={"start_date": today(), "flow": "heavy"}
    )
    assert entry.status_code == period.status_code == 201
    exported = client.get("/api/v1/auth/me/export", headers=headers)
    assert exported.status_code == 200
    body = exported.json()
    assert [(e["entry_id"], e["mood"], e["tags"]) for e in body["journal"]] == [
        (entry.json()["entry_id"], "tired", ["sleep"])
    ]
    assert [(p["period_id"], p["flow"]) for p in body["period_logs"]] == [
        (period.json()["period_id"], "heavy")
    ]
    assert all("user_id" not in e for e in body["journal"] + body["period_logs"])


def test_erasure_removes_journal_entries_refs_and_period_logs(
    client: TestClient, container: Any, register: Any
) -> None:
    user = register()
    headers, user_id = user["headers"], user["user"]["user_id"]
    for day in ("2026-01-01", "2026-01-02"):
        assert client.post("/api/v1/journal", headers=headers, json={"date": day}).status_code == 201
    assert (
        client.post("/api/v1/cycle/periods", headers=headers, json={"start_date": today()}).status_code == 201
    )
    mine = [str(i["sk"]) for i in container.records.all_for(owner=user_id)]
    assert sum(s.startswith(JOURNAL_PREFIX) for s in mine) == 2
    assert sum(s.startswith(JOURNAL_REF_PREFIX) for s in mine) == 2
    assert sum(s.startswith(PERIOD_PREFIX) for s in mine) == 1
    deleted = client.request("DELETE", "/api/v1/auth/me", headers=headers, json={"password": PASSWORD})
    assert deleted.status_code == 204
    assert container.records.all_for(owner=user_id) == []
