"""Notification test kit: schedulers built like the Container's, and direct feed reads."""

from collections.abc import Callable
from typing import Any

import pytest

from app.auth.repository import UsersRepository
from app.notifications.repository import NotificationsRepository
from app.notifications.schedule_index import ScheduleIndex
from app.notifications.scheduler import ReminderScheduler
from app.notifications.service import NotificationService
from app.plans.repository import PlansRepository
from app.preferences.repository import PreferencesRepository
from app.preferences.service import PreferencesService
from app.providers.push import LogPush
from app.scans.repository import ScansRepository


@pytest.fixture
def make_scheduler(container: Any, settings: Any) -> Callable[..., ReminderScheduler]:
    """A scheduler with its own repositories and services, as a second instance would have."""

    def make(catch_up_minutes: int = 15) -> ReminderScheduler:
        client, names = container.dynamodb, settings.table_names
        preferences = PreferencesService(
            preferences=PreferencesRepository(client, names["records"], names["users"])
        )
        notifications = NotificationService(
            notifications=NotificationsRepository(client, names["records"], names["users"]),
            preferences=preferences,
            push=LogPush(),
            ttl_days=settings.notification_ttl_days,
        )
        return ReminderScheduler(
            index=ScheduleIndex(client, names["records"], names["users"]),
            notifications=notifications,
            preferences=preferences,
            users=UsersRepository(client, names["users"]),
            plans=PlansRepository(client, names["plans"], names["records"], names["users"]),
            scans=ScansRepository(client, names["scans"], names["records"], names["users"]),
            interval_seconds=0,
            catch_up_minutes=catch_up_minutes,
        )

    return make


@pytest.fixture
def feed(container: Any) -> Callable[[str], list[Any]]:
    """Every notification of a user, newest first."""
    return lambda user_id: sorted(
        container.notifications_repo.all_notifications(user_id=user_id),
        key=lambda n: n.notification_id,
        reverse=True,
    )
