"""PlanService over HTTP: a plan request in flight while its account is deleted creates nothing
and ends as an account that is gone."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.deps import get_plan_service
from app.auth.repository import UserRecord
from app.plans.repository import PlanSlot, PlansRepository
from app.plans.service import PlanService
from tests.conftest import PASSWORD
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg

PLANS = "/api/v1/plans"


class DeletesTheAccountAfterReadingTheSlot(PlansRepository):
    """The account is deleted (from another device) between the slot read and the plan write."""

    user: UserRecord | None = None
    account: Any = None

    def get_slot(self, *, user_id: str) -> PlanSlot:
        slot = super().get_slot(user_id=user_id)
        if self.user is not None and self.user.user_id == user_id:
            self.account.delete_account(user=self.user, password=PASSWORD)
            self.user = None
        return slot


@pytest.fixture
def racing_plans(client: TestClient, container: Any) -> Iterator[DeletesTheAccountAfterReadingTheSlot]:
    real = container.plans_repo
    repo = DeletesTheAccountAfterReadingTheSlot(
        container.dynamodb, real.table_name, real.records_table, real.users_table
    )
    repo.account = container.account
    service = PlanService(plans=repo, scans=container.scans_repo, lock_days=container.settings.plan_lock_days)
    client.app.dependency_overrides[get_plan_service] = lambda: service  # type: ignore[attr-defined]
    yield repo
    client.app.dependency_overrides.pop(get_plan_service)  # type: ignore[attr-defined]


def test_a_plan_created_during_account_deletion_leaves_nothing(
    client: TestClient,
    container: Any,
    register: Any,
    racing_plans: DeletesTheAccountAfterReadingTheSlot,
) -> None:
    user = register(skin_type="oily", primary_concern="acne")
    uid = user["user"]["user_id"]
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    assert scan["status"] == "completed"
    racing_plans.user = container.users.get(user_id=uid)
    response = client.post(PLANS, headers=user["headers"], json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "account_deleted"
    assert container.plans_repo.all_for_user(user_id=uid) == []
    assert container.plans_repo.get_slot(user_id=uid) == PlanSlot()
