"""Fixtures of the consultation tests: patients with real, analysed scans."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.consultations.helpers import make_patient
from tests.helpers import today


@pytest.fixture(scope="module")
def patient(client: TestClient) -> dict[str, Any]:
    """Two completed scans, an active plan and a severe reaction reported in a check-in."""
    user = make_patient(client, scans=2, full_name="Zoë Lindqvist", skin_type="combination")
    plan = client.post("/api/v1/plans", headers=user["headers"], json={})
    assert plan.status_code == 201, plan.text
    user["plan"] = plan.json()
    checkin = client.post(
        f"/api/v1/plans/{user['plan']['plan_id']}/checkins",
        headers=user["headers"],
        json={
            "date": today(),
            "am_done": True,
            "pm_done": False,
            "reaction": {
                "severity": "severe",
                "description": "Burning and swelling <b>after</b> the retinoid",
                "suspected_products": ["retinoid serum"],
            },
        },
    )
    assert checkin.status_code == 201, checkin.text
    user["checkin"] = checkin.json()
    return user


@pytest.fixture
def new_patient(client: TestClient) -> Callable[..., dict[str, Any]]:
    """Makes a fresh patient with one completed scan (own rate-limit budget, own data)."""
    return lambda **kwargs: make_patient(client, **kwargs)
