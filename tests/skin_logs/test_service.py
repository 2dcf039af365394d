"""The skin-log service with a small fake cycle lookup; the self-rated observation source."""

from datetime import date, timedelta
from typing import Any

import pytest

from app.core.security import utc_now
from app.cycles.position import CyclePhase, CyclePosition
from app.plans.timeline import user_today
from app.skin_logs.observations import BREAKOUT_VALUES, SELF_RATED, SkinLogObservations
from app.skin_logs.service import SkinLogService


class FakeCycles:
    """Cycle day 1 on `start`, 28-day cycles; luteal from day 17. None before `start`."""

    def __init__(self, start: date) -> None:
        self.start = start
        self.asked: list[tuple[str, date]] = []

    def position_on(self, *, user_id: str, on: date) -> CyclePosition | None:
        self.asked.append((user_id, on))
        if on < self.start:
            return None
        cycle_day = (on - self.start).days % 28 + 1
        phase = (
            CyclePhase.MENSTRUAL
            if cycle_day <= 5
            else CyclePhase.FOLLICULAR
            if cycle_day < 17
            else CyclePhase.LUTEAL
        )
        return CyclePosition(cycle_day=cycle_day, phase=phase)


@pytest.fixture
def stored_user(container: Any, user_id: str) -> Any:
    yield container.users.get(user_id=user_id)
    container.skin_logs_repo.delete_all(user_id=user_id)


def service(container: Any, cycles: FakeCycles) -> SkinLogService:
    return SkinLogService(
        logs=container.skin_logs_repo, scans=container.scans_repo, plans=container.plans, cycles=cycles
    )


def test_cycle_fields_are_filled_from_the_lookup_and_follow_a_date_change(
    container: Any, stored_user: Any
) -> None:
    today = user_today(stored_user, utc_now())
    cycles = FakeCycles(start=today - timedelta(days=20))
    logs = service(container, cycles)
    written = logs.create(user=stored_user, data={"date": today, "dryness": 30})
    assert (written.log.cycle_day, written.log.cycle_phase) == (21, "luteal")
    assert cycles.asked == [(stored_user.user_id, today)]

    moved = logs.update(
        user=stored_user, log_id=written.log.log_id, changes={"date": today - timedelta(days=18)}
    )
    assert (moved.log.cycle_day, moved.log.cycle_phase) == (3, "menstrual")
    # Before the user's logs begin, the lookup knows nothing: the fields go, none are invented.
    earlier = logs.update(
        user=stored_user, log_id=written.log.log_id, changes={"date": today - timedelta(days=25)}
    )
    assert (earlier.log.cycle_day, earlier.log.cycle_phase) == (None, None)
    stored = container.skin_logs_repo.get(user_id=stored_user.user_id, log_id=written.log.log_id)
    assert stored.log_date == (today - timedelta(days=25)).isoformat()
    assert stored.cycle_phase is None
    assert stored.dryness == 30


def test_a_stale_update_is_refused_not_lost(container: Any, stored_user: Any) -> None:
    from app.skin_logs.repository import SkinLogChanged

    logs = service(container, FakeCycles(start=date(2000, 1, 1)))
    written = logs.create(user=stored_user, data={"date": user_today(stored_user, utc_now()), "oiliness": 10})
    logs.update(user=stored_user, log_id=written.log.log_id, changes={"oiliness": 20})
    with pytest.raises(SkinLogChanged):  # the copy read before the first update is stale
        container.skin_logs_repo.update_fields(log=written.log, changes={"oiliness": 99})
    assert container.skin_logs_repo.get(user_id=stored_user.user_id, log_id=written.log.log_id).oiliness == 20


def test_observations_are_self_rated_values_of_what_was_rated(container: Any, stored_user: Any) -> None:
    logs = service(container, FakeCycles(start=date(2000, 1, 1)))
    today = user_today(stored_user, utc_now())
    logs.create(
        user=stored_user, data={"date": today - timedelta(days=1), "breakouts": "many", "dryness": 70}
    )
    logs.create(user=stored_user, data={"date": today, "breakouts": "none", "radiance": 65})
    source = SkinLogObservations(logs=container.skin_logs_repo)
    assert source.kind == SELF_RATED
    found = sorted((o.on, o.metric, o.value) for o in source.observations(user_id=stored_user.user_id))
    assert found == [
        (today - timedelta(days=1), "breakouts", BREAKOUT_VALUES["many"]),
        (today - timedelta(days=1), "dryness", 70.0),
        (today, "breakouts", 0.0),
        (today, "radiance", 65.0),
    ]
    # Unrated sliders are absent, never zero; noise is stated per metric.
    assert source.noise(metric="breakouts") > source.noise(metric="dryness") > 0


def test_erasure_owner_removes_logs_and_pointers(container: Any, stored_user: Any) -> None:
    from app.skin_logs.owner import SkinLogsData

    logs = service(container, FakeCycles(start=date(2000, 1, 1)))
    created = logs.create(
        user=stored_user, data={"date": user_today(stored_user, utc_now()), "sensitivity": 5}
    )
    owner = SkinLogsData(logs=container.skin_logs_repo)
    assert (
        owner.export_user(user_id=stored_user.user_id, image_url=str)["skin_logs"][0]["log_id"]
        == created.log.log_id
    )
    assert owner.erase_user(user_id=stored_user.user_id, email=stored_user.email) == {"skin_logs": 1}
    assert container.skin_logs_repo.get(user_id=stored_user.user_id, log_id=created.log.log_id) is None
    remaining = [
        i["sk"] for i in container.records.all_for(owner=stored_user.user_id) if "skinlog" in i["sk"]
    ]
    assert remaining == []
