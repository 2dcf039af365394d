"""One settings object for the whole service, read from the environment (and `.env`)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-in-production"
LOCAL_ENDPOINT_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class Settings(BaseSettings):
    """Every setting the service reads; names match `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Literal["development", "test", "production"] = "development"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"

    # AWS / DynamoDB. No keys: boto3's default chain (instance role on EC2) is used.
    aws_region: str = "us-east-1"
    aws_dynamodb_endpoint: str = ""
    dynamodb_local_port: int = Field(default=8001, ge=1, le=65535)
    dynamodb_users_table: str = "dermalens-users"
    dynamodb_scans_table: str = "dermalens-scans"
    dynamodb_plans_table: str = "dermalens-treatment-plans"
    dynamodb_chat_table: str = "dermalens-chat-messages"
    dynamodb_records_table: str = "dermalens-records"
    aws_connect_timeout_seconds: float = 2.0
    aws_read_timeout_seconds: float = 5.0
    aws_max_attempts: int = 3
    aws_max_pool_connections: int = 50

    # Storage
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket_name: str = ""
    s3_endpoint_url: str = ""
    dermalens_data_dir: Path = Path(".data")
    public_base_url: str = ""
    upload_url_ttl_seconds: int = 900
    download_url_ttl_seconds: int = 300
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    min_image_side: int = 256

    # Providers
    vision_provider: Literal["local", "gemini"] = "local"
    chat_provider: Literal["local", "gemini"] = "local"
    gemini_api_key: str = ""
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str = ""
    gemini_timeout_seconds: float = 30.0
    gemini_max_retries: int = 2
    chat_fallback_to_local: bool = False

    # Auth
    secret_key: str = DEFAULT_SECRET_KEY
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_minutes: int = Field(default=15, ge=1, le=1440)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    max_sessions_per_user: int = Field(default=20, ge=1, le=100)

    # Abuse resistance
    login_lockout_threshold: int = Field(default=5, ge=1)
    login_lockout_base_seconds: int = Field(default=30, ge=1)
    login_lockout_max_seconds: int = Field(default=3600, ge=1)
    login_ip_lockout_threshold: int = Field(default=20, ge=1)
    scans_per_day: int = Field(default=20, ge=1)
    chat_messages_per_minute: int = Field(default=10, ge=1)
    password_reset_requests_per_hour: int = Field(default=5, ge=1)

    # Mail (verification and password reset)
    mail_backend: Literal["log", "ses"] = "log"
    mail_from: str = "DermaLens <no-reply@dermalens.app>"
    app_link_base_url: str = "dermalens://"
    email_token_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)

    # Domain
    plan_lock_days: int = Field(default=28, ge=1, le=365)

    # Background work
    analysis_workers: int = Field(default=2, ge=1, le=16)

    # HTTP
    cors_origins: list[str] = Field(default_factory=list)
    docs_enabled: bool = True
    max_request_body_bytes: int = 12 * 1024 * 1024
    max_json_body_bytes: int = 256 * 1024

    # Chat streaming: a comment is sent after this many idle seconds (proxies cut idle streams at ~60 s)
    chat_sse_keepalive_seconds: float = Field(default=15.0, gt=0, le=55)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.environment == "production":
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 32 characters "
                    "outside development (generate one with: python -c "
                    "'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if "*" in self.cors_origins:
                raise ValueError("CORS_ORIGINS='*' is refused in production; list the origins")
        if self.storage_backend == "s3" and not self.s3_bucket_name:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET_NAME")
        needs_gemini = self.vision_provider == "gemini" or self.chat_provider == "gemini"
        if needs_gemini and not self.gemini_api_key:
            raise ValueError(
                "VISION_PROVIDER/CHAT_PROVIDER=gemini needs GEMINI_API_KEY; "
                "set it or use the offline 'local' provider"
            )
        return self

    @property
    def uses_local_dynamodb(self) -> bool:
        """True when the endpoint override points at this machine (DynamoDB Local)."""
        return any(host in self.aws_dynamodb_endpoint for host in LOCAL_ENDPOINT_HOSTS)

    @property
    def table_names(self) -> dict[str, str]:
        return {
            "users": self.dynamodb_users_table,
            "scans": self.dynamodb_scans_table,
            "plans": self.dynamodb_plans_table,
            "chat": self.dynamodb_chat_table,
            "records": self.dynamodb_records_table,
        }


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
