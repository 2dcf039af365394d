"""`Annotated` dependency aliases: the one place routes get settings, services and the user."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.core.config import Settings
from app.core.errors import AuthenticationError
from app.repositories.users import UserRecord
from app.services.auth import AuthService
from app.services.container import Container
from app.services.scans import ScanService

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_container(request: Request) -> Container:
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_settings_dep(container: ContainerDep) -> Settings:
    return container.settings


def get_auth_service(container: ContainerDep) -> AuthService:
    return container.auth


def get_scan_service(container: ContainerDep) -> ScanService:
    return container.scans


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ScanServiceDep = Annotated[ScanService, Depends(get_scan_service)]
AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


@dataclass(frozen=True)
class Principal:
    """The signed-in user and the auth session the access token belongs to."""

    user: UserRecord
    session_id: str


def get_principal(auth: AuthServiceDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    if not token:
        raise AuthenticationError("Sign in and send the access token as 'Authorization: Bearer ...'.")
    user, claims = auth.authenticate(access_token=token)
    return Principal(user=user, session_id=claims.session_id)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_current_user(principal: PrincipalDep) -> UserRecord:
    return principal.user


CurrentUser = Annotated[UserRecord, Depends(get_current_user)]
