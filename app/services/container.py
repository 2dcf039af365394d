"""Wiring: builds clients, repositories and services from settings (in the lifespan, or a CLI)."""

from dataclasses import dataclass, field
from typing import Any

from app.core.config import Settings
from app.core.security import TokenCodec
from app.db.dynamodb import build_dynamodb_client
from app.repositories.scans import ScansRepository
from app.repositories.users import UsersRepository
from app.services.analysis import AnalysisProcessor, AnalysisWorker
from app.services.auth import AuthService
from app.services.images import ImageLimits
from app.services.scans import ScanService
from app.services.storage import ImageStorage, build_storage
from app.services.vision import VisionProvider, build_vision_provider


@dataclass
class Container:
    """Everything a request or a worker needs, built once per process."""

    settings: Settings
    dynamodb: Any
    storage: ImageStorage
    vision: VisionProvider
    users: UsersRepository
    scans_repo: ScansRepository
    auth: AuthService
    scans: ScanService
    analysis: AnalysisProcessor
    analysis_worker: AnalysisWorker
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def background(self) -> list[Any]:
        return [self.analysis_worker]

    async def start(self) -> None:
        """Start background workers (each has async `start()`/`stop()`)."""
        for worker in self.background:
            await worker.start()

    async def stop(self) -> None:
        for worker in reversed(self.background):
            await worker.stop()


def build_container(
    settings: Settings,
    *,
    dynamodb_client: Any | None = None,
    storage: ImageStorage | None = None,
    vision: VisionProvider | None = None,
) -> Container:
    """Build every part from settings; tests may pass a client, storage or vision provider in."""
    client = dynamodb_client or build_dynamodb_client(settings)
    names = settings.table_names
    storage = storage or build_storage(settings)
    vision = vision or build_vision_provider(settings)
    users = UsersRepository(client, names["users"])
    scans_repo = ScansRepository(client, names["scans"], names["records"])
    auth = AuthService(users=users, tokens=TokenCodec(settings), max_sessions=settings.max_sessions_per_user)
    processor = AnalysisProcessor(scans=scans_repo, storage=storage, vision=vision)
    worker = AnalysisWorker(processor=processor, scans=scans_repo, workers=settings.analysis_workers)
    limits = ImageLimits(
        max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels, min_side=settings.min_image_side
    )
    scans = ScanService(scans=scans_repo, storage=storage, limits=limits, enqueue=worker.enqueue)
    return Container(
        settings=settings,
        dynamodb=client,
        storage=storage,
        vision=vision,
        users=users,
        scans_repo=scans_repo,
        auth=auth,
        scans=scans,
        analysis=processor,
        analysis_worker=worker,
    )
