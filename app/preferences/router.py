"""/users/me/preferences: thin routes over PreferencesService."""

from fastapi import APIRouter

from app.api.deps import CurrentUser, PreferencesServiceDep
from app.api.responses import error_responses
from app.auth.models import UserRecord
from app.preferences.models import StoredPreferences
from app.preferences.schemas import PreferencesPatch, PreferencesRead, PreferencesReplace

router = APIRouter(prefix="/users/me", tags=["preferences"])


def to_read(stored: StoredPreferences, user: UserRecord) -> PreferencesRead:
    return PreferencesRead(
        **stored.model_dump(exclude={"version", "updated_at"}),
        effective_timezone=stored.zone(user.timezone).key,
        updated_at=stored.updated_at,
    )


@router.get("/preferences", response_model=PreferencesRead, responses=error_responses(401, 422, 503))
def get_preferences(user: CurrentUser, preferences: PreferencesServiceDep) -> PreferencesRead:
    """Reminder times, rescan interval, units, language, notification switches, cloud-AI opt-out."""
    return to_read(preferences.get(user_id=user.user_id), user)


@router.put("/preferences", response_model=PreferencesRead, responses=error_responses(401, 422, 503))
def replace_preferences(
    body: PreferencesReplace, user: CurrentUser, preferences: PreferencesServiceDep
) -> PreferencesRead:
    """Replace every preference (omitted fields go back to their defaults); 422 changes nothing."""
    return to_read(preferences.replace(user=user, preferences=body), user)


@router.patch("/preferences", response_model=PreferencesRead, responses=error_responses(401, 422, 503))
def patch_preferences(
    body: PreferencesPatch, user: CurrentUser, preferences: PreferencesServiceDep
) -> PreferencesRead:
    """Change only the fields sent; 422 changes nothing."""
    changes = body.model_dump(exclude_unset=True)
    if "notifications" in changes and body.notifications is not None:
        changes["notifications"] = body.notifications.model_dump(exclude_unset=True)
    return to_read(preferences.patch(user=user, changes=changes), user)
