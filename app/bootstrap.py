"""Wiring: builds clients, repositories and services from settings (in the lifespan, or a CLI)."""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import boto3

from app.account.owners import ChatData, PlansData, RecordsData, ScansData
from app.account.service import AccountService
from app.api.readiness import TableCheckCache
from app.auth.login_attempts import LoginAttemptsRepository
from app.auth.login_guard import LockoutPolicy, LoginGuard
from app.auth.repository import UsersRepository
from app.auth.service import AuthService
from app.chat.context import ChatContextBuilder
from app.chat.repository import ChatRepository
from app.chat.service import ChatService
from app.core.config import Settings
from app.core.errors import DomainError
from app.core.rate_limit import RateLimiter
from app.core.security import TokenCodec, configure_password_hashing
from app.db.dynamodb import build_dynamodb_client
from app.db.records import RecordsRepository
from app.plans.repository import PlansRepository
from app.plans.service import PlanService
from app.providers.assistant import ChatProvider, build_chat_provider, build_fallback_provider
from app.providers.mail import LogMailer, Mailer, SesMailer
from app.providers.storage import ImageStorage, build_storage
from app.providers.vision import VisionProvider, build_vision_provider
from app.scans.intake import DecodeGate, ImageLimits
from app.scans.repository import ScansRepository
from app.scans.service import ScanService
from app.scans.sweeps import MaintenanceSweeper
from app.scans.worker import AnalysisProcessor, AnalysisWorker

logger = logging.getLogger("dermalens.container")


@dataclass
class Container:
    """Everything a request or a worker needs, built once per process."""

    settings: Settings
    dynamodb: Any
    storage: ImageStorage
    vision: VisionProvider
    chat_provider: ChatProvider
    mailer: Mailer
    users: UsersRepository
    scans_repo: ScansRepository
    plans_repo: PlansRepository
    chat_repo: ChatRepository
    records: RecordsRepository
    limiter: RateLimiter
    login_guard: LoginGuard
    auth: AuthService
    account: AccountService
    scans: ScanService
    plans: PlanService
    chat: ChatService
    analysis: AnalysisProcessor
    analysis_worker: AnalysisWorker
    sweeper: MaintenanceSweeper
    table_check: TableCheckCache = field(default_factory=TableCheckCache)

    async def start(self) -> None:
        """Finish interrupted work (deletions, scans) and start the workers and the sweeper."""
        try:
            await asyncio.to_thread(self.account.resume_pending_deletions)
        except DomainError as exc:
            logger.warning("could not resume pending account deletions: %s", exc.message)
        await self.analysis_worker.start()
        await self.sweeper.start()

    async def stop(self) -> None:
        await self.sweeper.stop()
        await self.analysis_worker.stop()
        # Remote providers hold HTTP connection pools; the local ones have nothing to close.
        if hasattr(self.chat_provider, "aclose"):
            await self.chat_provider.aclose()
        if hasattr(self.vision, "close"):
            await asyncio.to_thread(self.vision.close)


def build_mailer(settings: Settings) -> Mailer:
    if settings.mail_backend == "ses":
        return SesMailer(
            client=boto3.session.Session().client("ses", region_name=settings.aws_region),
            sender=settings.mail_from,
        )
    return LogMailer()


def build_container(
    settings: Settings,
    *,
    dynamodb_client: Any | None = None,
    storage: ImageStorage | None = None,
    vision: VisionProvider | None = None,
    chat_provider: ChatProvider | None = None,
) -> Container:
    """Build every part from settings; tests may pass a client, storage or provider in."""
    client = dynamodb_client or build_dynamodb_client(settings)
    names = settings.table_names
    storage = storage or build_storage(settings)
    vision = vision or build_vision_provider(settings)
    chat_provider = chat_provider or build_chat_provider(settings)
    mailer = build_mailer(settings)

    users = UsersRepository(client, names["users"])
    scans_repo = ScansRepository(client, names["scans"], names["records"], names["users"])
    plans_repo = PlansRepository(client, names["plans"], names["records"], names["users"])
    chat_repo = ChatRepository(client, names["chat"], names["users"])
    records = RecordsRepository(client, names["records"])
    limiter = RateLimiter(counters=records)

    configure_password_hashing(concurrency=settings.password_hash_concurrency)
    login_guard = LoginGuard(
        counters=LoginAttemptsRepository(client, names["records"]),
        account_policy=LockoutPolicy(
            settings.login_lockout_threshold,
            settings.login_lockout_base_seconds,
            settings.login_lockout_max_seconds,
        ),
        ip_policy=LockoutPolicy(
            settings.login_ip_lockout_threshold,
            settings.login_lockout_base_seconds,
            settings.login_lockout_max_seconds,
        ),
        account_failures_per_hour=settings.login_account_failures_per_hour,
    )
    auth = AuthService(
        users=users,
        tokens=TokenCodec(settings),
        max_sessions=settings.max_sessions_per_user,
        guard=login_guard,
        limiter=limiter,
        register_per_ip_per_hour=settings.register_per_ip_per_hour,
        refresh_grace_seconds=settings.refresh_reuse_grace_seconds,
    )
    plans = PlanService(plans=plans_repo, scans=scans_repo, lock_days=settings.plan_lock_days)
    processor = AnalysisProcessor(
        scans=scans_repo,
        storage=storage,
        vision=vision,
        baseline_lookup=plans.baseline_scan,
        lease_seconds=settings.analysis_lease_seconds,
    )
    worker = AnalysisWorker(
        processor=processor,
        scans=scans_repo,
        workers=settings.analysis_workers,
        sweep_seconds=settings.analysis_sweep_seconds,
    )
    limits = ImageLimits(
        max_bytes=settings.max_image_bytes,
        max_pixels=settings.max_image_pixels,
        min_side=settings.min_image_side,
        gate=DecodeGate(settings.image_decode_concurrency),
    )
    scans = ScanService(
        scans=scans_repo,
        storage=storage,
        limits=limits,
        enqueue=worker.enqueue,
        limiter=limiter,
        scans_per_day=settings.scans_per_day,
        photo_checks_per_day=settings.photo_checks_per_day,
        # Never before the upload links themselves have expired.
        upload_expiry_seconds=max(settings.upload_expiry_seconds, settings.upload_url_ttl_seconds + 300),
    )
    chat = ChatService(
        chat=chat_repo,
        provider=chat_provider,
        fallback=build_fallback_provider(settings),
        context_builder=ChatContextBuilder(scans=scans_repo, plans=plans),
        limiter=limiter,
        messages_per_minute=settings.chat_messages_per_minute,
    )
    account = AccountService(
        users=users,
        # Every domain holding user data registers here; export and erasure walk the list.
        owners=[
            ScansData(scans=scans_repo, storage=storage),
            PlansData(plans=plans_repo),
            ChatData(chat=chat_repo),
            RecordsData(records=records),
        ],
        records=records,
        mailer=mailer,
        limiter=limiter,
        link_base_url=settings.app_link_base_url,
        token_minutes=settings.email_token_minutes,
        reset_requests_per_hour=settings.password_reset_requests_per_hour,
    )
    return Container(
        settings=settings,
        dynamodb=client,
        storage=storage,
        vision=vision,
        chat_provider=chat_provider,
        mailer=mailer,
        users=users,
        scans_repo=scans_repo,
        plans_repo=plans_repo,
        chat_repo=chat_repo,
        records=records,
        limiter=limiter,
        login_guard=login_guard,
        auth=auth,
        account=account,
        scans=scans,
        plans=plans,
        chat=chat,
        analysis=processor,
        analysis_worker=worker,
        sweeper=MaintenanceSweeper(scans=scans, interval_seconds=settings.storage_sweep_seconds),
    )
