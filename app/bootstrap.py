"""Wiring: builds clients, repositories and services from settings (in the lifespan, or a CLI)."""

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
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
from app.chat.context_reads import ContextReads
from app.chat.repository import ChatRepository
from app.chat.service import ChatService
from app.consultations.directory import load_directory
from app.consultations.links import ReportLinkCodec
from app.consultations.owner import ConsultationsData
from app.consultations.repository import ConsultationsRepository
from app.consultations.service import ConsultationService
from app.core.config import Settings
from app.core.errors import DomainError
from app.core.rate_limit import RateLimiter
from app.core.read_cache import ReadCache
from app.core.security import TokenCodec, configure_password_hashing
from app.cycles.owner import CycleData
from app.cycles.repository import CyclesRepository
from app.cycles.service import CycleService
from app.db.dynamodb import build_dynamodb_client, dynamodb_session
from app.db.lean_reads import build_lean_reads
from app.db.leases import IntervalLeases
from app.db.records import RecordsRepository
from app.insights.context import CycleChatContext
from app.insights.service import CycleInsightService
from app.insights.sources import ScanObservations
from app.journal.owner import JournalData
from app.journal.repository import JournalRepository
from app.journal.service import JournalService
from app.notifications.events import NotificationEvents
from app.notifications.owners import NotificationsData
from app.notifications.repository import NotificationsRepository
from app.notifications.schedule_index import ScheduleIndex
from app.notifications.scheduler import ReminderScheduler
from app.notifications.service import NotificationService
from app.plans.repository import PlansRepository
from app.plans.service import PlanService
from app.preferences.owners import PreferencesData
from app.preferences.providers import ProviderSelector
from app.preferences.repository import PreferencesRepository
from app.preferences.service import PreferencesService
from app.providers.assistant import ChatProvider, build_chat_provider, build_fallback_provider
from app.providers.mail import LogMailer, Mailer, SesMailer
from app.providers.push import LogPush, PushSender, SnsPush
from app.providers.queue import JobQueue, build_job_queue
from app.providers.storage import ImageStorage, build_storage
from app.providers.vision import VisionProvider, build_vision_provider
from app.scans.intake import DecodeGate, ImageLimits
from app.scans.repository import ScansRepository
from app.scans.service import ScanService
from app.scans.sweeps import MaintenanceSweeper
from app.scans.worker import AnalysisProcessor, AnalysisWorker
from app.skin_logs.observations import SkinLogObservations
from app.skin_logs.owner import SkinLogsData
from app.skin_logs.repository import SkinLogsRepository
from app.skin_logs.service import SkinLogService
from app.skin_logs.statistics import SelfRatedSection
from app.statistics.repository import StatisticsRepository
from app.statistics.sections import default_sections
from app.statistics.service import StatisticsService

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
    journal: JournalService
    cycles: CycleService
    insights: CycleInsightService
    consultations: ConsultationService
    analysis: AnalysisProcessor
    analysis_worker: AnalysisWorker
    sweeper: MaintenanceSweeper
    preferences: PreferencesService
    statistics: StatisticsService
    notifications: NotificationService
    notifications_repo: NotificationsRepository
    schedule_index: ScheduleIndex
    scheduler: ReminderScheduler
    push: PushSender
    skin_logs_repo: SkinLogsRepository
    skin_logs: SkinLogService
    # The cycle insight's self-rated series.
    skin_log_observations: SkinLogObservations
    leases: IntervalLeases
    instance_id: str
    job_queue: JobQueue | None
    table_check: TableCheckCache = field(default_factory=TableCheckCache)
    # The hot reads' rendered answers (app/core/read_cache.py, kept by app/api/cached.py).
    read_cache: ReadCache = field(default_factory=lambda: ReadCache(seconds=0, max_entries=0))

    async def start(self) -> None:
        """Finish interrupted work (deletions, scans) and start the workers and the sweeper."""
        try:
            await asyncio.to_thread(self.account.resume_pending_deletions)
        except DomainError as exc:
            logger.warning("could not resume pending account deletions: %s", exc.message)
        await self.analysis_worker.start()
        await self.sweeper.start()
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
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


def build_push(settings: Settings) -> PushSender:
    if settings.push_backend == "sns":
        applications = {
            "ios": settings.sns_platform_application_arn_ios,
            "android": settings.sns_platform_application_arn_android,
        }
        return SnsPush(
            client=boto3.session.Session().client("sns", region_name=settings.aws_region),
            applications={platform: arn for platform, arn in applications.items() if arn},
        )
    return LogPush()


def _local_vision() -> VisionProvider:
    from app.providers.vision.local import LocalVisionProvider

    return LocalVisionProvider()


def _local_chat() -> ChatProvider:
    from app.providers.assistant.local import LocalChatProvider

    return LocalChatProvider()


def build_container(
    settings: Settings,
    *,
    dynamodb_client: Any | None = None,
    storage: ImageStorage | None = None,
    vision: VisionProvider | None = None,
    chat_provider: ChatProvider | None = None,
) -> Container:
    """Build every part from settings; tests may pass a client, storage or provider in."""
    if dynamodb_client is None:
        session = dynamodb_session(settings)
        client = build_dynamodb_client(settings, session)
        lean_reads = build_lean_reads(client, session.get_credentials(), settings=settings)
    else:  # a client passed in keeps every call on it (a test's hooks see them all)
        client, lean_reads = dynamodb_client, None
    names = settings.table_names
    storage = storage or build_storage(settings)
    vision = vision or build_vision_provider(settings)
    chat_provider = chat_provider or build_chat_provider(settings)
    mailer = build_mailer(settings)

    users = UsersRepository(client, names["users"], lean_reads=lean_reads)
    scans_repo = ScansRepository(client, names["scans"], names["records"], names["users"])
    plans_repo = PlansRepository(client, names["plans"], names["records"], names["users"])
    chat_repo = ChatRepository(client, names["chat"], names["users"])
    records = RecordsRepository(client, names["records"])
    # Periodic jobs every instance schedules run in one per interval (app/db/leases.py).
    leases = IntervalLeases(client, names["records"])
    instance_id = f"{socket.gethostname()}:{os.getpid()}"
    limiter = RateLimiter(counters=records)

    configure_password_hashing(
        concurrency=settings.password_hash_concurrency, processes=settings.web_concurrency
    )
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
    # Preferences and notifications come first: scans, plans and chat take hooks into them.
    preferences_repo = PreferencesRepository(client, names["records"], names["users"])
    preferences = PreferencesService(preferences=preferences_repo)
    push = build_push(settings)
    notifications_repo = NotificationsRepository(client, names["records"], names["users"])
    schedule_index = ScheduleIndex(client, names["records"], names["users"])
    notifications = NotificationService(
        notifications=notifications_repo,
        preferences=preferences,
        push=push,
        ttl_days=settings.notification_ttl_days,
    )
    scheduler = ReminderScheduler(
        index=schedule_index,
        notifications=notifications,
        preferences=preferences,
        users=users,
        plans=plans_repo,
        scans=scans_repo,
        interval_seconds=settings.notification_scheduler_seconds,
        catch_up_minutes=settings.notification_catch_up_minutes,
    )
    preferences.add_listener(scheduler.sync_user)
    events = NotificationEvents(notifications=notifications, scheduler=scheduler, users=users)
    vision_for: ProviderSelector[VisionProvider] = ProviderSelector(
        preferences=preferences_repo,
        configured=vision,
        configured_is_local=settings.vision_provider == "local",
        local=_local_vision,
    )
    chat_for: ProviderSelector[ChatProvider] = ProviderSelector(
        preferences=preferences_repo,
        configured=chat_provider,
        configured_is_local=settings.chat_provider == "local",
        local=_local_chat,
    )

    read_cache = ReadCache(seconds=settings.read_cache_seconds, max_entries=settings.read_cache_entries)
    plans = PlanService(
        plans=plans_repo,
        scans=scans_repo,
        lock_days=settings.plan_lock_days,
        events=events,
    )
    # Journal, cycle tracking, skin logs and the cycle insight, all in the records table.
    cycles_repo = CyclesRepository(client, names["records"], names["users"])
    journal_repo = JournalRepository(client, names["records"], names["users"])
    skin_logs_repo = SkinLogsRepository(client, names["records"], names["users"])
    cycles = CycleService(cycles=cycles_repo)
    journal = JournalService(
        journal=journal_repo, positions=lambda uid, dates: cycles.positions_on(user_id=uid, dates=dates)
    )
    skin_logs = SkinLogService(logs=skin_logs_repo, scans=scans_repo, plans=plans, cycles=cycles)
    skin_log_observations = SkinLogObservations(logs=skin_logs_repo)
    insights = CycleInsightService(
        cycles=cycles,
        # Every series the insight averages by phase, each kept apart in the answer.
        sources=[ScanObservations(scans=scans_repo), skin_log_observations],
        plans=plans,
    )
    processor = AnalysisProcessor(
        scans=scans_repo,
        storage=storage,
        vision=vision,
        baseline_lookup=plans.baseline_scan,
        vision_for=vision_for.for_user,
        on_finished=events.scan_finished,
        cycle_lookup=cycles,
        lease_seconds=settings.analysis_lease_seconds,
        latest_pointer=lambda user_id: (
            found.latest_scan_id if (found := users.get(user_id=user_id)) else None
        ),
    )
    job_queue = build_job_queue(settings)
    worker = AnalysisWorker(
        processor=processor,
        scans=scans_repo,
        workers=settings.analysis_workers,
        sweep_seconds=settings.analysis_sweep_seconds,
        queue=job_queue,
        queue_wait_seconds=settings.sqs_wait_seconds,
        resend_after_seconds=settings.sqs_visibility_timeout_seconds,
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
        # One-call uploads are analysed while their request writes the scan (idle worker only).
        start_early=worker.start_early,
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
        context_builder=ChatContextBuilder(
            scans=scans_repo,
            plans=plans,
            skin_logs=skin_logs,
            cycle=CycleChatContext(cycles=cycles, insights=insights),
            mark_tracking=lambda uid, features: users.add_tracking(user_id=uid, features=features),
            reads=ContextReads(client, scans_table=names["scans"], plans_table=names["plans"]),
            repair_pointer=lambda uid, pointer, value, seen: users.fill_pointer(
                user_id=uid, pointer=pointer, value=value, seen=seen
            ),
        ),
        limiter=limiter,
        messages_per_minute=settings.chat_messages_per_minute,
        provider_for=chat_for.for_user,
    )
    consultations_repo = ConsultationsRepository(client, names["records"], names["users"])
    consultations = ConsultationService(
        consultations=consultations_repo,
        # Checked now: a bad directory file stops the start-up with every problem named.
        directory=load_directory(
            Path(settings.consultation_directory_path) if settings.consultation_directory_path else None
        ),
        users=users,
        scans=scans_repo,
        plans=plans_repo,
        storage=storage,
        mailer=mailer,
        links=ReportLinkCodec(secret_key=settings.secret_key),
        limiter=limiter,
        per_day=settings.consultations_per_day,
        report_days=settings.consultation_report_days,
    )
    account = AccountService(
        users=users,
        # Every domain holding user data registers here; export and erasure walk the list.
        owners=[
            ScansData(scans=scans_repo, storage=storage),
            PlansData(plans=plans_repo),
            ChatData(chat=chat_repo),
            # Before RecordsData: it finds devices and schedule entries through the partition.
            NotificationsData(notifications=notifications_repo, index=schedule_index, push=push),
            PreferencesData(preferences=preferences_repo),
            SkinLogsData(logs=skin_logs_repo),
            JournalData(journal=journal_repo),
            CycleData(cycles=cycles_repo),
            ConsultationsData(consultations=consultations_repo, storage=storage),
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
        journal=journal,
        cycles=cycles,
        insights=insights,
        consultations=consultations,
        analysis=processor,
        analysis_worker=worker,
        preferences=preferences,
        statistics=StatisticsService(
            repository=StatisticsRepository(
                client, scans_table=names["scans"], plans_table=names["plans"], records_table=names["records"]
            ),
            sections=[*default_sections(), SelfRatedSection(logs=skin_logs_repo)],
        ),
        notifications=notifications,
        notifications_repo=notifications_repo,
        schedule_index=schedule_index,
        scheduler=scheduler,
        push=push,
        skin_logs_repo=skin_logs_repo,
        skin_logs=skin_logs,
        skin_log_observations=skin_log_observations,
        leases=leases,
        read_cache=read_cache,
        instance_id=instance_id,
        job_queue=job_queue,
        sweeper=MaintenanceSweeper(
            scans=scans,
            interval_seconds=settings.storage_sweep_seconds,
            first_run_after=min(30.0, settings.storage_sweep_seconds),
            leases=leases,
            instance_id=instance_id,
        ),
    )
