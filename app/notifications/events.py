"""What the scans worker and the plans service tell notifications (small injected callbacks).

A notification is a side effect: a failure here is logged and never fails the scan, the plan
or the check-in that caused it.
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from app.auth.models import UserRecord
from app.auth.repository import UsersRepository
from app.core.errors import DomainError
from app.core.referral import DERMATOLOGIST_DIRECTORY_PATH
from app.db.guards import UserGoneError
from app.notifications.scheduler import ReminderScheduler
from app.notifications.service import NotificationService
from app.plans.models import CheckIn, PlanRecord
from app.scans.models import ScanRecord

logger = logging.getLogger("dermalens.notifications.events")

T = TypeVar("T")


class NotificationEvents:
    def __init__(
        self, *, notifications: NotificationService, scheduler: ReminderScheduler, users: UsersRepository
    ) -> None:
        self._notifications = notifications
        self._scheduler = scheduler
        self._users = users

    def scan_finished(self, scan: ScanRecord, updates: dict[str, Any]) -> None:
        """The analysis worker recorded a result: tell the user, and schedule the next rescan."""
        self._quietly("scan_finished", lambda: self._scan_finished(scan, updates))

    def plan_created(self, user: UserRecord, plan: PlanRecord) -> None:
        """A plan started: reminders from today, and a notification when its lock ends."""
        self._quietly("plan_created", lambda: self._plan_created(user, plan))

    def severe_reaction(self, user: UserRecord, plan: PlanRecord, checkin: CheckIn) -> None:
        """A severe reaction was reported: stop-and-see-a-doctor advice with the referral link."""
        self._quietly("severe_reaction", lambda: self._severe_reaction(user, plan, checkin))

    def _scan_finished(self, scan: ScanRecord, updates: dict[str, Any]) -> None:
        link = f"/api/v1/scans/{scan.scan_id}"
        if updates.get("status") == "completed":
            scores = updates.get("scores") or {}
            overall = scores.get("overall")
            change = ((updates.get("deltas") or {}).get("previous") or {}).get("changes", {}).get("overall")
            body = "Your skin scores are ready."
            if overall is not None:
                body = f"Overall score {round(overall)}" + (
                    f" ({change:+.0f} since your last scan)." if change is not None else "."
                )
            self._notifications.make(
                user_id=scan.user_id,
                kind="scan_completed",
                title="Your scan is ready",
                body=body,
                data={"scan_id": scan.scan_id, "link": link},
                dedupe_key=f"scan_completed#{scan.scan_id}",
            )
            user = self._users.get(user_id=scan.user_id)
            completed = scan.model_copy(update={"status": "completed"})
            if user is not None:
                self._scheduler.schedule_rescan(user=user, scan=completed)
        elif updates.get("status") == "failed":
            failure = updates.get("failure") or {}
            self._notifications.make(
                user_id=scan.user_id,
                kind="scan_failed",
                title="Your scan could not be analysed",
                body=str(failure.get("message") or "Retry the scan with a new photo."),
                data={"scan_id": scan.scan_id, "link": link, "code": str(failure.get("code") or "")},
                # A retried scan can fail again: once per attempt.
                dedupe_key=f"scan_failed#{scan.scan_id}#{scan.attempts}",
            )

    def _plan_created(self, user: UserRecord, plan: PlanRecord) -> None:
        self._scheduler.ensure_daily(user=user)
        self._scheduler.schedule_unlock(user_id=user.user_id, plan=plan)

    def _severe_reaction(self, user: UserRecord, plan: PlanRecord, checkin: CheckIn) -> None:
        self._notifications.make(
            user_id=user.user_id,
            kind="severe_reaction",
            title="See a dermatologist about your reaction",
            body=(
                "You reported a severe reaction: stop the active products (keep a gentle cleanser, "
                "moisturiser and sunscreen) and see a dermatologist. Find one in the app."
            ),
            data={
                "plan_id": plan.plan_id,
                "date": checkin.date,
                "referral_url": DERMATOLOGIST_DIRECTORY_PATH,
                "link": DERMATOLOGIST_DIRECTORY_PATH,
            },
            dedupe_key=f"severe_reaction#{plan.plan_id}#{checkin.date}",
        )

    @staticmethod
    def _quietly(event: str, work: Callable[[], T]) -> None:
        try:
            work()
        except UserGoneError:
            return
        except DomainError as exc:
            logger.warning("notification for %s not made: %s", event, exc.message)
        except Exception:
            # Never fail the scan or the check-in over its notification; the trace is kept.
            logger.exception("notification for %s crashed", event)
