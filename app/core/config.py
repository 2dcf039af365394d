"""One settings object for the whole service, read from the environment (and `.env`)."""

import ipaddress
import json
import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

logger = logging.getLogger("dermalens.config")

# The placeholder older `.env.example` files shipped: public, so never a real key.
DEFAULT_SECRET_KEY = "change-me-in-production"
MIN_SECRET_KEY_LENGTH = 32
DEV_SECRET_KEY_FILE = "dev-secret-key"
LOCAL_ENDPOINT_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _split_list(value: object) -> object:
    """An env value as a list: empty, one item, a comma list, or a JSON list."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)  # a malformed JSON list is a ValueError: a clear settings error
    return [item.strip() for item in text.split(",") if item.strip()]


# List settings are written by people (`A,B`) more often than as JSON. NoDecode stops
# pydantic-settings from JSON-decoding the raw value first (which fails on `A,B` or ``).
EnvList = Annotated[list[str], NoDecode, BeforeValidator(_split_list)]


class Settings(BaseSettings):
    """Every setting the service reads; names match `.env.example`.

    Construction refuses unsafe combinations (see `unsafe_settings`). In development an
    empty SECRET_KEY is filled by `get_settings` from the data dir, not here, so that
    building a Settings object never writes a file.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # development: a laptop (`make run`). test: the automated suite only. production: real users.
    environment: Literal["development", "test", "production"] = "development"
    # Where `make run` binds the API; loopback so that LAN peers cannot reach a dev server.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    # uvicorn worker processes (`make run` and the systemd unit; uvicorn's own variable). One
    # process is held to one core by the GIL; each has its own read cache and analysis
    # workers, and everything they share lives in DynamoDB, as between instances.
    web_concurrency: int = Field(default=2, ge=1, le=32)

    # AWS / DynamoDB. No keys: boto3's default chain (instance role on EC2) is used.
    aws_region: str = "us-east-1"
    aws_dynamodb_endpoint: str = ""
    dynamodb_local_host: str = "127.0.0.1"
    dynamodb_local_port: int = Field(default=8001, ge=1, le=65535)
    dynamodb_users_table: str = "dermalens-users"
    dynamodb_scans_table: str = "dermalens-scans"
    dynamodb_plans_table: str = "dermalens-treatment-plans"
    dynamodb_chat_table: str = "dermalens-chat-messages"
    dynamodb_records_table: str = "dermalens-records"
    # Per attempt; a failing call takes at most worst_case_call_seconds (15 s with these, 19 s
    # for the authentication read with DYNAMODB_LEAN_READS: one lean attempt before boto3's).
    aws_connect_timeout_seconds: float = Field(default=1.0, gt=0, le=60)
    aws_read_timeout_seconds: float = Field(default=3.0, gt=0, le=300)
    aws_max_attempts: int = Field(default=3, ge=1, le=10)
    aws_max_pool_connections: int = 50
    # The authentication read's GetItem tried first on a lean signed request (app/db/
    # lean_reads.py), boto3 behind it on anything but a clean 200; false: boto3 only.
    dynamodb_lean_reads: bool = True

    # Storage
    storage_backend: Literal["local", "s3"] = "local"
    # The operator's promise that one instance serves this data dir: local image storage is
    # per machine, so in production it is refused unless this is true.
    single_instance: bool = False
    s3_bucket_name: str = ""
    s3_endpoint_url: str = ""
    dermalens_data_dir: Path = Path(".data")
    public_base_url: str = ""
    upload_url_ttl_seconds: int = 900
    download_url_ttl_seconds: int = 300
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    min_image_side: int = 256

    # Providers
    vision_provider: Literal["local", "gemini", "bedrock"] = "local"
    chat_provider: Literal["local", "gemini", "bedrock"] = "local"
    gemini_api_key: str = ""
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str = ""
    # Per connect/read of one attempt; 15 (was 30) so that a retry still fits GEMINI_DEADLINE_SECONDS.
    gemini_timeout_seconds: float = 15.0
    gemini_max_retries: int = 2
    chat_fallback_to_local: bool = False

    # AWS Bedrock providers (CHAT_PROVIDER / VISION_PROVIDER=bedrock; issue 17). No keys: the
    # default credential chain (the EC2 instance role). Region empty = AWS_REGION.
    bedrock_region: str = ""
    bedrock_chat_model_id: str = "amazon.nova-lite-v1:0"
    bedrock_vision_model_id: str = "amazon.nova-lite-v1:0"
    # Only for tests or a VPC endpoint; empty = the regional bedrock-runtime endpoint.
    bedrock_endpoint_url: str = ""
    bedrock_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    bedrock_read_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # Every attempt, the first included (botocore standard retries: throttling, 5xx, timeouts).
    bedrock_max_attempts: int = Field(default=3, ge=1, le=10)
    bedrock_chat_max_tokens: int = Field(default=600, ge=16, le=4096)

    # Auth
    # Empty: development generates one under the data dir (see get_settings); else refused.
    secret_key: str = ""
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

    # Background work (0 = an API-only instance: `python -m app.worker` analyses elsewhere)
    analysis_workers: int = Field(default=2, ge=0, le=16)

    # Sign-in hardening: proxies whose X-Forwarded-For is believed (addresses or CIDRs,
    # default none), and budgets that no header can escape.
    trusted_proxies: EnvList = Field(default_factory=list)
    login_account_failures_per_hour: int = Field(default=20, ge=1)
    register_per_ip_per_hour: int = Field(default=20, ge=1)
    password_hash_concurrency: int = Field(default=0, ge=0, le=64)
    refresh_reuse_grace_seconds: int = Field(default=30, ge=0, le=300)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        """Each entry must parse as an address or CIDR, and none may trust every client."""
        for entry in value:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR") from exc
            if network.prefixlen == 0:
                # Trusting every address is the spoofable X-Forwarded-For this setting replaces.
                raise ValueError(f"TRUSTED_PROXIES: {entry!r} would trust every client; list the proxies")
        return value

    # HTTP
    cors_origins: EnvList = Field(default_factory=list)
    docs_enabled: bool = True
    max_request_body_bytes: int = 12 * 1024 * 1024
    max_json_body_bytes: int = 256 * 1024

    # Photo checks, abandoned uploads and storage sweeps
    photo_checks_per_day: int = Field(default=60, ge=1)
    image_decode_concurrency: int = Field(default=2, ge=1, le=32)
    upload_expiry_seconds: int = Field(default=3600, ge=60)
    storage_sweep_seconds: int = Field(default=3600, ge=0)

    # Fault tolerance (issue 15). A scan's claim is a lease renewed while it is analysed: a
    # crashed worker's scans are taken over within one lease plus one sweep. One Gemini answer
    # (chat) takes at most GEMINI_DEADLINE_SECONDS, retries included; then fallback or 503.
    analysis_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    # Also how often every worker looks for pending scans it was not told about (another
    # instance's crash, an API-only instance's submits with ANALYSIS_QUEUE=memory).
    analysis_sweep_seconds: float = Field(default=15.0, gt=0, le=3600)
    gemini_deadline_seconds: float = Field(default=20.0, gt=0, le=300)
    # Read cache (issue 15, app/core/read_cache.py): GET /scans, /progress and /plans/active
    # answered from memory while the user's data version is unchanged. The age bound stays
    # under DOWNLOAD_URL_TTL_SECONDS, so a cached photo link is never near expiry. 0 turns it off.
    read_cache_seconds: float = Field(default=30.0, ge=0, le=120)
    # Entries per process: a scan page is ~170 KB in memory, progress ~110 KB, a plan ~60 KB,
    # so 1,000 entries stay under ~120 MB (reached only with ~330 users active within
    # READ_CACHE_SECONDS on one instance; the least recently used entry goes first).
    read_cache_entries: int = Field(default=1_000, ge=0, le=100_000)

    # Chat streaming: a comment is sent after this many idle seconds (proxies cut idle streams at ~60 s)
    chat_sse_keepalive_seconds: float = Field(default=15.0, gt=0, le=55)

    # Deployment on AWS (issue 16: EC2, CloudFormation, secrets from SSM / Secrets Manager).
    # single: one instance; multi: several instances share the tables (local photos refused).
    deployment: Literal["single", "multi"] = "single"
    # false when deploy/cloudformation.yaml owns the tables: start-up then only checks them.
    create_tables: bool = True
    # Names of a SecureString parameter / a secret holding SECRET_KEY or GEMINI_API_KEY; read
    # through the instance role at start-up, so no secret sits in the env file.
    secret_key_ssm_parameter: str = ""
    secret_key_secret_id: str = ""
    gemini_api_key_ssm_parameter: str = ""
    gemini_api_key_secret_id: str = ""
    # Notifications (feed, reminders, push): the reminder loop's period (0: no loop in this
    # process, e.g. when EventBridge Scheduler drives it), how far back a restarted loop catches
    # up, how long notifications live (TTL), and the push backend (`sns`: one platform
    # application ARN per platform).
    notification_scheduler_seconds: float = Field(default=30.0, ge=0, le=600)
    notification_catch_up_minutes: int = Field(default=180, ge=1, le=1440)
    notification_ttl_days: int = Field(default=90, ge=1, le=3650)
    push_backend: Literal["log", "sns"] = "log"
    sns_platform_application_arn_ios: str = ""
    sns_platform_application_arn_android: str = ""
    # Dermatologist referral (consultations): the directory file the operator can replace
    # (empty: the bundled sample in app/consultations/data/), how long a report link works,
    # and how many requests a user may send a day (each mails a dermatologist).
    consultation_directory_path: str = ""
    consultation_report_days: int = Field(default=14, ge=1, le=90)
    consultations_per_day: int = Field(default=5, ge=1, le=100)
    # Scale-out and operations (issue 16): the analysis queue, the worker process, the
    # once-per-interval sweep lease, telemetry and the log format.
    # memory: submits go to this process's worker threads; sqs: to SQS_QUEUE_URL, read by
    # every instance's workers (and `python -m app.worker`); the DynamoDB claim stays the guard.
    analysis_queue: Literal["memory", "sqs"] = "memory"
    sqs_queue_url: str = ""
    sqs_endpoint_url: str = ""
    # Long-poll wait (SQS caps it at 20 s) and how long a received job stays hidden from
    # other workers; the queue's redrive policy moves a job to the dead-letter queue after
    # its maxReceiveCount receives.
    sqs_wait_seconds: int = Field(default=20, ge=0, le=20)
    sqs_visibility_timeout_seconds: int = Field(default=600, ge=1, le=43200)
    otel_enabled: bool = False
    otel_service_name: str = "dermalens-api"
    # The AWS Distro for OpenTelemetry collector's OTLP/HTTP receiver on the instance.
    otel_exporter_otlp_endpoint: str = "http://localhost:4318"
    otel_metric_export_seconds: float = Field(default=60.0, ge=1, le=3600)
    # json: one JSON object per line (journald/CloudWatch); text: readable lines; auto: text
    # in development, json otherwise.
    log_format: Literal["auto", "json", "text"] = "auto"

    @model_validator(mode="after")
    def _refuse_unsafe_settings(self) -> "Settings":
        problems = self.unsafe_settings()
        if problems:
            raise ValueError(f"refusing to start with ENVIRONMENT={self.environment}: " + "; ".join(problems))
        return self

    def unsafe_settings(self) -> list[str]:
        """What this configuration must not run with, one sentence each (empty when fine)."""
        problems: list[str] = self._secret_source_problems()
        # `test` is held to the secret-key rule too; only the suite uses it, with a real key.
        # A key still to be read from SSM / Secrets Manager is checked once it is read.
        if self.environment != "development" and not self.secret_key_source and _weak_secret(self.secret_key):
            problems.append(
                f"SECRET_KEY must be a random value of at least {MIN_SECRET_KEY_LENGTH} "
                "characters outside development (generate one with: python -c "
                "'import secrets; print(secrets.token_urlsafe(48))')"
            )
        # `test` may keep the log mailer and local images: one process, no real recipients.
        if self.environment == "production":
            if self.mail_backend == "log":
                problems.append(
                    "MAIL_BACKEND=log writes password-reset and verification links (bearer "
                    "tokens) into the log; use MAIL_BACKEND=ses in production"
                )
            if self.storage_backend == "local" and not self.single_instance:
                problems.append(
                    "STORAGE_BACKEND=local keeps photos on this machine only; use "
                    "STORAGE_BACKEND=s3, or set SINGLE_INSTANCE=true if exactly one instance "
                    "will ever serve this data dir"
                )
            if "*" in self.cors_origins:
                problems.append("CORS_ORIGINS='*' is refused in production; list the origins")
        if self.deployment == "multi" and self.storage_backend == "local":
            problems.append(
                "DEPLOYMENT=multi needs STORAGE_BACKEND=s3: with local storage a photo "
                "uploaded to one instance is missing on every other one"
            )
        if self.deployment == "multi" and self.single_instance:
            problems.append("DEPLOYMENT=multi contradicts SINGLE_INSTANCE=true; keep one of them")
        if self.analysis_queue == "sqs" and not self.sqs_queue_url:
            problems.append("ANALYSIS_QUEUE=sqs needs SQS_QUEUE_URL")
        if self.storage_backend == "s3" and not self.s3_bucket_name:
            problems.append("STORAGE_BACKEND=s3 needs S3_BUCKET_NAME")
        if self.push_backend == "sns" and not (
            self.sns_platform_application_arn_ios or self.sns_platform_application_arn_android
        ):
            problems.append(
                "PUSH_BACKEND=sns needs SNS_PLATFORM_APPLICATION_ARN_IOS and/or "
                "SNS_PLATFORM_APPLICATION_ARN_ANDROID"
            )
        needs_gemini = self.vision_provider == "gemini" or self.chat_provider == "gemini"
        if needs_gemini and not self.gemini_api_key and not self.gemini_api_key_source:
            problems.append(
                "VISION_PROVIDER/CHAT_PROVIDER=gemini needs GEMINI_API_KEY; "
                "set it or use the offline 'local' provider"
            )
        for name, provider, model in (
            ("CHAT_PROVIDER", self.chat_provider, self.bedrock_chat_model_id),
            ("VISION_PROVIDER", self.vision_provider, self.bedrock_vision_model_id),
        ):
            if provider == "bedrock" and not model.strip():
                problems.append(f"{name}=bedrock needs its BEDROCK_*_MODEL_ID")
        return problems

    @property
    def secret_key_source(self) -> str:
        """Where SECRET_KEY is read from at start-up: `ssm:<name>`, `secret:<id>`, or ''."""
        return _source(self.secret_key_ssm_parameter, self.secret_key_secret_id)

    @property
    def gemini_api_key_source(self) -> str:
        """Where GEMINI_API_KEY is read from at start-up: `ssm:<name>`, `secret:<id>`, or ''."""
        return _source(self.gemini_api_key_ssm_parameter, self.gemini_api_key_secret_id)

    def _secret_source_problems(self) -> list[str]:
        """Each secret comes from one place: the env file, one parameter, or one secret."""
        problems = []
        for name, value, parameter, secret_id in (
            ("SECRET_KEY", self.secret_key, self.secret_key_ssm_parameter, self.secret_key_secret_id),
            (
                "GEMINI_API_KEY",
                self.gemini_api_key,
                self.gemini_api_key_ssm_parameter,
                self.gemini_api_key_secret_id,
            ),
        ):
            if parameter and secret_id:
                problems.append(
                    f"{name}_SSM_PARAMETER and {name}_SECRET_ID are both set; name one place for {name}"
                )
            if (parameter or secret_id) and value and value != DEFAULT_SECRET_KEY:
                problems.append(
                    f"{name} is set and also named in SSM / Secrets Manager; remove it from the env file"
                )
        return problems

    @property
    def bedrock_region_name(self) -> str:
        """The region Bedrock is called in: BEDROCK_REGION, else AWS_REGION."""
        return self.bedrock_region or self.aws_region

    @property
    def uses_local_dynamodb(self) -> bool:
        """True when the endpoint override points at this machine (DynamoDB Local)."""
        return any(host in self.aws_dynamodb_endpoint for host in LOCAL_ENDPOINT_HOSTS)

    @property
    def json_logs(self) -> bool:
        """True when logs are JSON lines (LOG_FORMAT, or `auto` outside development)."""
        if self.log_format == "auto":
            return self.environment != "development"
        return self.log_format == "json"

    @property
    def table_names(self) -> dict[str, str]:
        return {
            "users": self.dynamodb_users_table,
            "scans": self.dynamodb_scans_table,
            "plans": self.dynamodb_plans_table,
            "chat": self.dynamodb_chat_table,
            "records": self.dynamodb_records_table,
        }


def _source(parameter: str, secret_id: str) -> str:
    if parameter:
        return f"ssm:{parameter}"
    if secret_id:
        return f"secret:{secret_id}"
    return ""


def _weak_secret(key: str) -> bool:
    return key == DEFAULT_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH


def development_secret_key(data_dir: Path) -> str:
    """The development SECRET_KEY kept under the data dir: made on first use (0600), then reused."""
    path = data_dir / DEV_SECRET_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{DEV_SECRET_KEY_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            # link() publishes the whole file or fails if another process got there first.
            os.link(draft, path)
            logger.info("generated a development SECRET_KEY", extra={"path": str(path)})
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    key = path.read_text().strip()
    if _weak_secret(key):
        raise ValueError(f"{path} does not hold a usable SECRET_KEY; delete it to get a new one")
    return key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once: named secrets are read from AWS, and development
    gets its own persistent secret key."""
    settings = Settings()
    if settings.secret_key_source or settings.gemini_api_key_source:
        # Imported here: the reader builds AWS clients, which this module must not depend on.
        from app.providers.secrets import resolve_secrets

        settings = resolve_secrets(settings)
    # The old placeholder counts as unset: it is public, and old `.env` copies still carry it.
    if settings.environment == "development" and settings.secret_key in ("", DEFAULT_SECRET_KEY):
        if settings.secret_key:
            logger.warning("SECRET_KEY is the public placeholder; using the generated development key")
        key = development_secret_key(settings.dermalens_data_dir)
        settings = settings.model_copy(update={"secret_key": key})
    return settings
