"""Auth and profile request/response models."""

from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from app.core.security import EMAIL_MAX, normalise_email
from app.core.vocabulary import SkinMetric, SkinType

PASSWORD_MIN = 8
PASSWORD_MAX = 128

Password = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Sensitivity = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60)
]


# One normalisation (NFC, IDNA, lower case) for every request that carries an email.
NormalisedEmail = Annotated[
    str,
    Field(max_length=EMAIL_MAX),
    AfterValidator(normalise_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": EMAIL_MAX}),
]


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown IANA timezone (e.g. 'Europe/Paris')") from exc
    return value


def _check_birth_year(value: int) -> int:
    this_year = datetime.now(UTC).year
    if not 1900 <= value <= this_year - 13:
        raise ValueError(f"birth_year must be between 1900 and {this_year - 13}")
    return value


Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_check_timezone)]
BirthYear = Annotated[int, AfterValidator(_check_birth_year)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileFields(StrictModel):
    full_name: ShortText | None = None
    skin_type: SkinType | None = None
    primary_concern: SkinMetric | None = None
    concerns: list[SkinMetric] | None = Field(None, max_length=10)
    sensitivities: list[Sensitivity] | None = Field(
        None, max_length=30, description="Ingredient slugs or groups to avoid, e.g. 'fragrance'."
    )
    pregnant_or_breastfeeding: bool | None = None
    birth_year: BirthYear | None = None
    timezone: Timezone | None = None


class UserRegister(StrictModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "ana@example.com", "password": "correct horse battery", "full_name": "Ana"}
            ]
        },
    )

    email: NormalisedEmail
    password: Password
    full_name: ShortText | None = None
    skin_type: SkinType | None = None
    primary_concern: SkinMetric | None = None


class UserLogin(StrictModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ana@example.com", "password": "correct horse battery"}]},
    )

    email: NormalisedEmail
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]


class RefreshRequest(StrictModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]


class ProfileUpdate(ProfileFields):
    """Only the fields sent are changed; `null` clears an optional field."""


class PasswordChange(StrictModel):
    current_password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]
    new_password: Password


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserRead(BaseModel):
    user_id: str
    email: str
    full_name: str | None = None
    skin_type: SkinType | None = None
    primary_concern: SkinMetric | None = None
    concerns: list[str] = Field(default_factory=list)
    sensitivities: list[str] = Field(default_factory=list)
    pregnant_or_breastfeeding: bool = False
    birth_year: int | None = None
    timezone: str = "UTC"
    email_verified: bool = False
    created_at: str
    updated_at: str


class RegisterResponse(BaseModel):
    user: UserRead
    tokens: TokenPair


class AccountDelete(StrictModel):
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]


class EmailTokenConfirm(StrictModel):
    token: Annotated[str, Field(min_length=10, max_length=200)]


class PasswordResetRequest(StrictModel):
    email: NormalisedEmail


class PasswordResetConfirm(StrictModel):
    token: Annotated[str, Field(min_length=10, max_length=200)]
    new_password: Password


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str
