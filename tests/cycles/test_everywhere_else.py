"""The cycle reaches other domains: scans carry it, the chat context holds it; non-trackers see none of it."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.chat.context import ChatContextBuilder
from app.insights.context import CycleChatContext
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg


def ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def test_a_completed_scan_carries_cycle_day_and_phase_only_for_users_who_track(
    client: TestClient, container: Any, register: Any
) -> None:
    tracker, other = register(), register()
    body = {"start_date": ago(1), "end_date": ago(0), "flow": "light"}
    assert client.post("/api/v1/cycle/periods", headers=tracker["headers"], json=body).status_code == 201
    photo = face_jpeg()
    tracked = wait_for(client, tracker["headers"], upload_scan(client, tracker["headers"], photo)["scan_id"])
    untracked = wait_for(client, other["headers"], upload_scan(client, other["headers"], photo)["scan_id"])
    assert tracked["status"] == untracked["status"] == "completed"
    assert (tracked["cycle_day"], tracked["cycle_phase"]) == (2, "menstrual")
    assert "cycle_day" not in untracked
    assert "cycle_phase" not in untracked
    listed = client.get("/api/v1/scans", headers=other["headers"]).json()["items"]
    assert all("cycle_day" not in s for s in listed)

    # The chat context: the scan's cycle fields, today's position and the insight for the
    # tracker; nothing at all for the other user.
    builder = ChatContextBuilder(
        scans=container.scans_repo,
        plans=container.plans,
        cycle=CycleChatContext(cycles=container.cycles, insights=container.insights),
    )
    context = builder(container.users.get(user_id=tracker["user"]["user_id"]))
    assert context.latest_scan is not None
    assert context.latest_scan["cycle_phase"] == "menstrual"
    assert context.cycle is not None
    assert context.cycle["today"]["cycle_day"] == 2
    assert context.cycle["next_period"]["insufficient_history"] is True
    assert context.cycle["insight"]["findings"] == []
    plain = builder(container.users.get(user_id=other["user"]["user_id"]))
    assert plain.cycle is None
    assert plain.latest_scan is not None
    assert "cycle_day" not in plain.latest_scan
