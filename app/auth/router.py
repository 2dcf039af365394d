"""/auth: register, sign in, tokens, profile, password."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import (
    AccountServiceDep,
    AuthServiceDep,
    ClientIp,
    ContainerDep,
    CurrentUser,
    DeletingPrincipalDep,
    PrincipalDep,
)
from app.api.links import absolute
from app.api.responses import error_responses
from app.auth.schemas import (
    PASSWORD_MAX,
    Accepted,
    AccountDelete,
    EmailTokenConfirm,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    ProfileUpdate,
    RefreshRequest,
    RegisterResponse,
    TokenPair,
    UserLogin,
    UserRead,
    UserRegister,
)
from app.core.security import EMAIL_MAX

router = APIRouter(prefix="/auth", tags=["auth"])

UserAgent = Annotated[str, Header(include_in_schema=False)]


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisterResponse,
    responses=error_responses(409, 422, 429, 503),
)
def register(
    body: UserRegister, auth: AuthServiceDep, ip: ClientIp, user_agent: UserAgent = ""
) -> RegisterResponse:
    """Create an account and sign it in. 409 `email_taken` if the email has an account; 429 if
    this address created too many accounts this hour."""
    profile = body.model_dump(exclude={"email", "password"})
    user, tokens = auth.register(
        email=body.email, password=body.password, profile=profile, user_agent=user_agent, client_ip=ip
    )
    return RegisterResponse(user=UserRead.model_validate(user.model_dump()), tokens=tokens)


@router.post("/login", response_model=TokenPair, responses=error_responses(401, 422, 429, 503))
def login(body: UserLogin, auth: AuthServiceDep, ip: ClientIp, user_agent: UserAgent = "") -> TokenPair:
    """Sign in with JSON; a wrong email and a wrong password give the same 401; repeated failures 429."""
    _, tokens = auth.login(email=body.email, password=body.password, user_agent=user_agent, client_ip=ip)
    return tokens


class TokenForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form with the same bounds as JSON sign-in (oversized input is a 422)."""

    def __init__(
        self,
        *,
        username: Annotated[str, Form(max_length=EMAIL_MAX)],
        password: Annotated[str, Form(max_length=PASSWORD_MAX)],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        scope: Annotated[str, Form(max_length=1000)] = "",
        client_id: Annotated[str | None, Form(max_length=200)] = None,
        client_secret: Annotated[str | None, Form(max_length=200)] = None,
    ) -> None:
        super().__init__(
            username=username,
            password=password,
            grant_type=grant_type,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


@router.post("/token", response_model=TokenPair, responses=error_responses(401, 422, 429, 503))
def token(form: Annotated[TokenForm, Depends()], auth: AuthServiceDep, ip: ClientIp) -> TokenPair:
    """OAuth2 password form (the `username` field takes the email): for Swagger's Authorize."""
    _, tokens = auth.login(email=form.username, password=form.password, user_agent="swagger", client_ip=ip)
    return tokens


@router.post("/refresh", response_model=TokenPair, responses=error_responses(401, 422, 503))
def refresh(body: RefreshRequest, auth: AuthServiceDep) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once."""
    return auth.refresh(refresh_token=body.refresh_token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(422, 503),
)
def logout(body: RefreshRequest, auth: AuthServiceDep) -> Response:
    """End the session this refresh token belongs to."""
    auth.logout(refresh_token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserRead, responses=error_responses(401, 503))
async def read_me(user: CurrentUser) -> UserRead:
    # No I/O here (auth already read the user): answered on the event loop, not a worker thread.
    return UserRead.model_validate(user.model_dump())


@router.patch("/me", response_model=UserRead, responses=error_responses(401, 422, 503))
def update_me(body: ProfileUpdate, user: CurrentUser, auth: AuthServiceDep) -> UserRead:
    """Change profile fields; only the fields sent are touched."""
    changes = body.model_dump(exclude_unset=True, mode="json")
    updated = auth.update_profile(user=user, changes=changes)
    return UserRead.model_validate(updated.model_dump())


@router.post(
    "/change-password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 422, 429, 503),
)
def change_password(body: PasswordChange, principal: PrincipalDep, auth: AuthServiceDep) -> Response:
    """Set a new password; every other session is signed out."""
    auth.change_password(
        user=principal.user,
        current_session_id=principal.session_id,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 422, 503),
)
def delete_me(body: AccountDelete, principal: DeletingPrincipalDep, account: AccountServiceDep) -> Response:
    """Delete the account and everything stored about it (photos included). Safe to retry."""
    account.delete_account(user=principal.user, password=body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/export", responses=error_responses(401, 503))
def export_me(
    user: CurrentUser, account: AccountServiceDep, container: ContainerDep, request: Request
) -> dict[str, Any]:
    """Everything stored about you, as JSON, with short-lived photo download links."""

    def image_url(key: str) -> str:
        return absolute(request, container.storage.download_url(key=key))

    return account.export(user=user, image_url=image_url)


@router.post(
    "/verify-email/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=error_responses(401, 429, 503),
)
def request_email_verification(user: CurrentUser, account: AccountServiceDep) -> Accepted:
    """Mail a confirmation link to the account's email."""
    account.request_email_verification(user=user)
    return Accepted(message="If your email is not verified yet, a confirmation link is on its way.")


@router.post(
    "/verify-email/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 422, 503),
)
def confirm_email_verification(body: EmailTokenConfirm, account: AccountServiceDep) -> Response:
    account.confirm_email_verification(token=body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=error_responses(422, 429, 503),
)
def request_password_reset(body: PasswordResetRequest, account: AccountServiceDep) -> Accepted:
    """Mail a reset link; the answer is the same whether or not the email has an account."""
    account.request_password_reset(email=body.email)
    return Accepted(message="If an account exists for this email, a reset link is on its way.")


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 422, 503),
)
def confirm_password_reset(body: PasswordResetConfirm, account: AccountServiceDep) -> Response:
    """Set a new password with the mailed token (single use); every session is signed out."""
    account.confirm_password_reset(token=body.token, new_password=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
