"""Plans repository against DynamoDB Local: one current plan per user (the slot), status changes,
check-ins, history pages."""

import contextlib
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.security import new_id, parse_iso
from app.db.guards import UserGoneError
from app.db.keys import plan_key
from app.plans.repository import PlanConflict, PlanRecord, PlanSlot, PlansRepository
from tests.conftest import PASSWORD
from tests.factories import checkin, plan_record


@pytest.fixture
def plans(container: Any) -> PlansRepository:
    return container.plans_repo


def first_plan(plans: PlansRepository, user_id: str, **fields: Any) -> PlanRecord:
    plan = plan_record(user_id=user_id, **fields)
    plans.create(plan=plan, slot=plans.get_slot(user_id=user_id), previous=None, previous_status=None)
    return plan


def test_a_new_user_has_an_empty_slot(plans: PlansRepository, user_id: str) -> None:
    assert plans.get_slot(user_id=user_id) == PlanSlot()
    assert plans.get_page(user_id=user_id, limit=10, cursor=None) == ([], None)


def test_create_stores_the_plan_and_names_it_in_the_slot(plans: PlansRepository, user_id: str) -> None:
    plan = first_plan(plans, user_id)
    assert plans.get(user_id=user_id, plan_id=plan.plan_id) == plan
    slot = plans.get_slot(user_id=user_id)
    assert slot.current_plan_id == plan.plan_id
    assert slot.lock_until == plan.lock_until
    assert slot.version == 1
    assert plans.get(user_id=new_id(), plan_id=plan.plan_id) is None  # another user's plan


def test_a_create_from_a_stale_slot_is_refused_and_writes_nothing(
    plans: PlansRepository, user_id: str
) -> None:
    empty = plans.get_slot(user_id=user_id)
    winner = first_plan(plans, user_id)
    late = plan_record(user_id=user_id)
    with pytest.raises(PlanConflict):
        plans.create(plan=late, slot=empty, previous=None, previous_status=None)
    assert plans.get(user_id=user_id, plan_id=late.plan_id) is None
    assert plans.get_slot(user_id=user_id).current_plan_id == winner.plan_id
    # Also from a slot that has a plan: version 1 read, version 2 stored meanwhile.
    seen = plans.get_slot(user_id=user_id)
    plans.create(plan=plan_record(user_id=user_id), slot=seen, previous=winner, previous_status="completed")
    with pytest.raises(PlanConflict):
        plans.create(
            plan=plan_record(user_id=user_id), slot=seen, previous=winner, previous_status="completed"
        )
    assert len(plans.all_for_user(user_id=user_id)) == 2


def test_racing_creates_make_exactly_one_current_plan(plans: PlansRepository, user_id: str) -> None:
    slot = plans.get_slot(user_id=user_id)
    candidates = [plan_record(user_id=user_id) for _ in range(4)]
    barrier = threading.Barrier(len(candidates))
    outcomes: dict[str, str] = {}

    def create(plan: PlanRecord) -> None:
        barrier.wait()
        try:
            plans.create(plan=plan, slot=slot, previous=None, previous_status=None)
            outcomes[plan.plan_id] = "created"
        except PlanConflict:
            outcomes[plan.plan_id] = "conflict"

    threads = [threading.Thread(target=create, args=(p,)) for p in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [pid for pid, outcome in outcomes.items() if outcome == "created"]
    assert len(outcomes) == 4, outcomes
    assert len(winners) == 1, outcomes
    assert [p.plan_id for p in plans.all_for_user(user_id=user_id)] == winners
    assert plans.get_slot(user_id=user_id).current_plan_id == winners[0]


def test_a_replacement_closes_the_previous_plan_in_the_same_write(
    plans: PlansRepository, user_id: str
) -> None:
    old = first_plan(plans, user_id)
    new = plan_record(user_id=user_id, override_reason="adverse_reaction", replaces_plan_id=old.plan_id)
    plans.create(plan=new, slot=plans.get_slot(user_id=user_id), previous=old, previous_status="replaced")
    closed = plans.get(user_id=user_id, plan_id=old.plan_id)
    assert closed.status == "replaced"
    assert closed.replaced_by_plan_id == new.plan_id
    assert closed.ended_at == new.created_at
    assert closed.override_reason == "adverse_reaction"
    slot = plans.get_slot(user_id=user_id)
    assert slot.current_plan_id == new.plan_id
    assert slot.lock_until == new.lock_until
    assert slot.version == 2


# ---- status ----


def test_ending_a_plan_frees_the_slot_but_keeps_the_lock(plans: PlansRepository, user_id: str) -> None:
    plan = first_plan(plans, user_id)
    assert plans.set_status(
        plan=plan, status="abandoned", allowed_from=("active",), now="2026-05-01T00:00:00Z", release_slot=True
    )
    ended = plans.get(user_id=user_id, plan_id=plan.plan_id)
    assert ended.status == "abandoned"
    assert ended.ended_at == parse_iso("2026-05-01T00:00:00Z")
    slot = plans.get_slot(user_id=user_id)
    assert slot.current_plan_id is None
    assert slot.lock_until == plan.lock_until
    # The next plan is created from the freed slot.
    successor = plan_record(user_id=user_id)
    plans.create(plan=successor, slot=slot, previous=None, previous_status=None)
    assert plans.get_slot(user_id=user_id).current_plan_id == successor.plan_id


def test_pausing_keeps_the_plan_current(plans: PlansRepository, user_id: str) -> None:
    plan = first_plan(plans, user_id)
    assert plans.set_status(
        plan=plan, status="paused", allowed_from=("active",), now="2026-05-01T00:00:00Z", release_slot=False
    )
    paused = plans.get(user_id=user_id, plan_id=plan.plan_id)
    assert paused.status == "paused"
    assert paused.ended_at is None
    assert plans.get_slot(user_id=user_id).current_plan_id == plan.plan_id


def test_a_status_change_from_an_unexpected_status_changes_nothing(
    plans: PlansRepository, user_id: str
) -> None:
    plan = first_plan(plans, user_id)
    assert not plans.set_status(
        plan=plan, status="active", allowed_from=("paused",), now="2026-05-01T00:00:00Z", release_slot=False
    )
    assert not plans.set_status(
        plan=plan, status="completed", allowed_from=("paused",), now="2026-05-01T00:00:00Z", release_slot=True
    )
    assert plans.get(user_id=user_id, plan_id=plan.plan_id) == plan
    assert plans.get_slot(user_id=user_id).current_plan_id == plan.plan_id


def test_ending_a_plan_the_slot_no_longer_names_is_refused_whole(
    plans: PlansRepository, user_id: str
) -> None:
    old = first_plan(plans, user_id)
    new = plan_record(user_id=user_id)
    # A replacement written without closing the old plan (as by a concurrent request).
    plans.create(plan=new, slot=plans.get_slot(user_id=user_id), previous=None, previous_status=None)
    assert not plans.set_status(
        plan=old, status="completed", allowed_from=("active",), now="2026-05-01T00:00:00Z", release_slot=True
    )
    assert plans.get(user_id=user_id, plan_id=old.plan_id).status == "active"
    assert plans.get_slot(user_id=user_id).current_plan_id == new.plan_id


# ---- check-ins ----


def test_check_ins_are_one_per_day_and_a_later_one_replaces_it(plans: PlansRepository, user_id: str) -> None:
    plan = first_plan(plans, user_id, start_date="2026-05-01")
    plans.put_checkin(plan=plan, checkin=checkin("2026-05-01"), extra_warning=None)
    updated = plans.put_checkin(plan=plan, checkin=checkin("2026-05-02", pm=False), extra_warning=None)
    assert sorted(updated.checkins) == ["2026-05-01", "2026-05-02"]
    replaced = plans.put_checkin(plan=plan, checkin=checkin("2026-05-02", am=False), extra_warning=None)
    assert (replaced.checkins["2026-05-02"].am_done, replaced.checkins["2026-05-02"].pm_done) == (False, True)
    assert replaced.updated_at == parse_iso("2026-05-02T21:00:00Z")
    assert plans.get(user_id=user_id, plan_id=plan.plan_id) == replaced


def test_a_check_in_warning_is_appended_to_the_plan(plans: PlansRepository, user_id: str) -> None:
    plan = first_plan(plans, user_id, warnings=["existing"])
    reaction = {"severity": "severe", "description": "burning"}
    updated = plans.put_checkin(
        plan=plan, checkin=checkin("2026-05-01", reaction=reaction), extra_warning="stop it"
    )
    assert updated.warnings == ["existing", "stop it"]
    stored = updated.checkins["2026-05-01"].reaction
    assert stored is not None
    assert stored.model_dump() == reaction
    again = plans.put_checkin(plan=plan, checkin=checkin("2026-05-02"), extra_warning=None)
    assert again.warnings == ["existing", "stop it"]


def test_a_check_in_for_a_missing_plan_creates_nothing(plans: PlansRepository, user_id: str) -> None:
    ghost = plan_record(user_id=user_id)
    assert plans.put_checkin(plan=ghost, checkin=checkin("2026-05-01"), extra_warning=None) == ghost
    assert plans.get(user_id=user_id, plan_id=ghost.plan_id) is None


# ---- history ----


def test_history_pages_are_newest_first(plans: PlansRepository, user_id: str) -> None:
    created = [first_plan(plans, user_id)]
    for _ in range(4):
        slot = plans.get_slot(user_id=user_id)
        plan = plan_record(user_id=user_id)
        plans.create(plan=plan, slot=slot, previous=created[-1], previous_status="completed")
        created.append(plan)
    seen, cursor, sizes = [], None, []
    while True:
        page, cursor = plans.get_page(user_id=user_id, limit=2, cursor=cursor)
        seen += [p.plan_id for p in page]
        sizes.append(len(page))
        if cursor is None:
            break
    assert seen == [p.plan_id for p in reversed(created)]
    assert sizes[:3] == [2, 2, 1]
    statuses = {p.plan_id: p.status for p in plans.all_for_user(user_id=user_id)}
    assert [statuses[p.plan_id] for p in created] == ["completed"] * 4 + ["active"]


def test_delete_all_removes_plans_and_slot(
    plans: PlansRepository, user_id: str, new_user: Callable[[], str]
) -> None:
    first_plan(plans, user_id)
    neighbour = new_user()
    kept = first_plan(plans, neighbour)
    assert plans.delete_all(user_id=user_id) == 1
    assert plans.all_for_user(user_id=user_id) == []
    assert plans.get_slot(user_id=user_id) == PlanSlot()
    assert plans.delete_all(user_id=user_id) == 0
    assert plans.get(user_id=neighbour, plan_id=kept.plan_id) == kept
    plans.delete_all(user_id=neighbour)


def test_a_plan_request_in_flight_during_account_deletion_leaves_nothing(
    client: TestClient, plans: PlansRepository, register: Any
) -> None:
    user = register()
    uid = user["user"]["user_id"]
    slot = plans.get_slot(user_id=uid)  # read by a plan request already past sign-in
    gone = client.request("DELETE", "/api/v1/auth/me", headers=user["headers"], json={"password": PASSWORD})
    assert gone.status_code == 204
    with contextlib.suppress(Exception):  # refusing the late write is the fix; how is not pinned
        plans.create(plan=plan_record(user_id=uid), slot=slot, previous=None, previous_status=None)
    leftovers = plans.all_for_user(user_id=uid)
    plans.delete_all(user_id=uid)
    assert leftovers == []


def test_a_plan_for_an_account_marked_for_deletion_is_refused(
    plans: PlansRepository, container: Any, user_id: str
) -> None:
    container.users.mark_deletion_requested(user_id=user_id, requested_at="2026-03-01T00:00:00Z")
    with pytest.raises(UserGoneError):
        first_plan(plans, user_id)
    assert plans.all_for_user(user_id=user_id) == []
    assert plans.get_slot(user_id=user_id) == PlanSlot()


def test_a_plan_keeps_z_strings_in_the_table_and_aware_times_in_the_record(
    plans: PlansRepository, user_id: str, container: Any
) -> None:
    plan = first_plan(plans, user_id)
    plans.put_checkin(plan=plan, checkin=checkin("2026-05-01"), extra_warning=None)
    raw = container.dynamodb.get_item(TableName=plans.table_name, Key=plan_key(user_id, plan.plan_id))["Item"]
    assert raw["created_at"]["S"].endswith("Z")
    assert raw["checkins"]["M"]["2026-05-01"]["M"]["recorded_at"]["S"] == "2026-05-01T21:00:00Z"
    stored = plans.get(user_id=user_id, plan_id=plan.plan_id)
    assert stored is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.checkins["2026-05-01"].recorded_at == parse_iso("2026-05-01T21:00:00Z")
    # The routine reads back as the engine's model, equal to what was stored.
    assert stored.routine == plan.routine
