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
from app.core.read_cache import ReadCache
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


def _container(request: Request) -> Container:
    # Starlette's State is untyped; the lifespan stores the Container there.
    container: Container = request.app.state.container
    return container


# The getters below take the Request, not ContainerDep: every nested dependency is one more
# solve on every request (FastAPI's resolver costs ≈ 20-40 µs a level), and they are on every
# authenticated call.
async def get_container(request: Request) -> Container:
    return _container(request)


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_settings_dep(request: Request) -> Settings:
    return _container(request).settings


async def get_auth_service(request: Request) -> AuthService:
    return _container(request).auth


async def get_account_service(request: Request) -> AccountService:
    return _container(request).account


async def get_scan_service(request: Request) -> ScanService:
    return _container(request).scans


async def get_plan_service(request: Request) -> PlanService:
    return _container(request).plans


async def get_chat_service(request: Request) -> ChatService:
    return _container(request).chat


async def get_preferences_service(request: Request) -> PreferencesService:
    return _container(request).preferences


async def get_statistics_service(request: Request) -> StatisticsService:
    return _container(request).statistics


async def get_notification_service(request: Request) -> NotificationService:
    return _container(request).notifications


async def get_skin_log_service(request: Request) -> SkinLogService:
    return _container(request).skin_logs


async def get_cycle_service(request: Request) -> CycleService:
    return _container(request).cycles


async def get_journal_service(request: Request) -> JournalService:
    return _container(request).journal


async def get_insight_service(request: Request) -> CycleInsightService:
    return _container(request).insights


async def get_consultation_service(request: Request) -> ConsultationService:
    return _container(request).consultations


async def get_read_cache(request: Request) -> ReadCache:
    return _container(request).read_cache


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ReadCacheDep = Annotated[ReadCache, Depends(get_read_cache)]
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


async def _principal(auth: AuthService, token: str | None, *, allow_pending_deletion: bool) -> Principal:
    if not token:
        raise AuthenticationError("Sign in and send the access token as 'Authorization: Bearer ...'.")
    user, claims = await auth.authenticate_async(
        access_token=token, allow_pending_deletion=allow_pending_deletion
    )
    set_user_id(user.user_id)  # the access log line and later log lines carry who it was
    return Principal(user=user, session_id=claims.session_id)


# Async: every authenticated request reads its user here, and on the event loop that read
# costs no hop to the thread pool (app/db/lean_reads.py; boto3 still runs in a thread).
async def get_principal(request: Request, token: BearerToken) -> Principal:
    return await _principal(_container(request).auth, token, allow_pending_deletion=False)


async def get_principal_for_deletion(request: Request, token: BearerToken) -> Principal:
    """Like `get_principal`, but lets a half-finished account deletion be retried."""
    return await _principal(_container(request).auth, token, allow_pending_deletion=True)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
DeletingPrincipalDep = Annotated[Principal, Depends(get_principal_for_deletion)]


async def get_current_user(principal: PrincipalDep) -> UserRecord:
    return principal.user


CurrentUser = Annotated[UserRecord, Depends(get_current_user)]
