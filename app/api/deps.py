"""`Annotated` dependency aliases: the one place routes get settings, services and the user."""

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.account.service import AccountService
from app.auth.models import UserRecord
from app.auth.service import AuthService
from app.bootstrap import Container
from app.chat.service import ChatService
from app.consultations.service import ConsultationService
from app.core.client_ip import Network, parse_networks, resolve_client_ip
from app.core.config import Settings
from app.core.errors import AuthenticationError
from app.core.request_context import set_user_id
from app.cycles.service import CycleService
from app.insights.service import CycleInsightService
from app.journal.service import JournalService
from app.notifications.service import NotificationService
from app.plans.service import PlanService
from app.preferences.service import PreferencesService
from app.scans.service import ScanService
from app.skin_logs.service import SkinLogService
from app.statistics.service import StatisticsService

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_container(request: Request) -> Container:
    # Starlette's State is untyped; the lifespan stores the Container there.
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_settings_dep(container: ContainerDep) -> Settings:
    return container.settings


async def get_auth_service(container: ContainerDep) -> AuthService:
    return container.auth


async def get_account_service(container: ContainerDep) -> AccountService:
    return container.account


async def get_scan_service(container: ContainerDep) -> ScanService:
    return container.scans


async def get_plan_service(container: ContainerDep) -> PlanService:
    return container.plans


async def get_chat_service(container: ContainerDep) -> ChatService:
    return container.chat


async def get_preferences_service(container: ContainerDep) -> PreferencesService:
    return container.preferences


async def get_statistics_service(container: ContainerDep) -> StatisticsService:
    return container.statistics


async def get_notification_service(container: ContainerDep) -> NotificationService:
    return container.notifications


async def get_skin_log_service(container: ContainerDep) -> SkinLogService:
    return container.skin_logs


async def get_cycle_service(container: ContainerDep) -> CycleService:
    return container.cycles


async def get_journal_service(container: ContainerDep) -> JournalService:
    return container.journal


async def get_insight_service(container: ContainerDep) -> CycleInsightService:
    return container.insights


async def get_consultation_service(container: ContainerDep) -> ConsultationService:
    return container.consultations


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
AccountServiceDep = Annotated[AccountService, Depends(get_account_service)]
ScanServiceDep = Annotated[ScanService, Depends(get_scan_service)]
PlanServiceDep = Annotated[PlanService, Depends(get_plan_service)]
ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]
PreferencesServiceDep = Annotated[PreferencesService, Depends(get_preferences_service)]
StatisticsServiceDep = Annotated[StatisticsService, Depends(get_statistics_service)]
NotificationServiceDep = Annotated[NotificationService, Depends(get_notification_service)]
SkinLogServiceDep = Annotated[SkinLogService, Depends(get_skin_log_service)]
CycleServiceDep = Annotated[CycleService, Depends(get_cycle_service)]
JournalServiceDep = Annotated[JournalService, Depends(get_journal_service)]
InsightServiceDep = Annotated[CycleInsightService, Depends(get_insight_service)]
ConsultationServiceDep = Annotated[ConsultationService, Depends(get_consultation_service)]
BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


@lru_cache(maxsize=8)
def _proxies(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


async def client_ip(request: Request, settings: SettingsDep) -> str:
    """The caller's address: the peer, or the rightmost hop a TRUSTED_PROXIES proxy appended."""
    return resolve_client_ip(
        peer=request.client.host if request.client else None,
        forwarded_for=request.headers.getlist("x-forwarded-for"),
        proxies=_proxies(tuple(settings.trusted_proxies)),
    )


ClientIp = Annotated[str, Depends(client_ip)]


@dataclass(frozen=True)
class Principal:
    """The signed-in user and the auth session the access token belongs to."""

    user: UserRecord
    session_id: str


def _principal(auth: AuthService, token: str | None, *, allow_pending_deletion: bool) -> Principal:
    if not token:
        raise AuthenticationError("Sign in and send the access token as 'Authorization: Bearer ...'.")
    user, claims = auth.authenticate(access_token=token, allow_pending_deletion=allow_pending_deletion)
    set_user_id(user.user_id)  # the access log line and later log lines carry who it was
    return Principal(user=user, session_id=claims.session_id)


def get_principal(auth: AuthServiceDep, token: BearerToken) -> Principal:
    return _principal(auth, token, allow_pending_deletion=False)


def get_principal_for_deletion(auth: AuthServiceDep, token: BearerToken) -> Principal:
    """Like `get_principal`, but lets a half-finished account deletion be retried."""
    return _principal(auth, token, allow_pending_deletion=True)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
DeletingPrincipalDep = Annotated[Principal, Depends(get_principal_for_deletion)]


async def get_current_user(principal: PrincipalDep) -> UserRecord:
    return principal.user


CurrentUser = Annotated[UserRecord, Depends(get_current_user)]
