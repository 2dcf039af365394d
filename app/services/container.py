"""Wiring: builds clients, repositories and services from settings (in the lifespan, or a CLI)."""

from dataclasses import dataclass, field
from typing import Any

from app.core.config import Settings
from app.core.security import TokenCodec
from app.db.dynamodb import build_dynamodb_client
from app.repositories.users import UsersRepository
from app.services.auth import AuthService


@dataclass
class Container:
    """Everything a request or a worker needs, built once per process."""

    settings: Settings
    dynamodb: Any
    users: UsersRepository
    auth: AuthService
    extras: dict[str, Any] = field(default_factory=dict)
    background: list[Any] = field(default_factory=list)

    async def start(self) -> None:
        """Start background workers (each has async `start()`/`stop()`)."""
        for worker in self.background:
            await worker.start()

    async def stop(self) -> None:
        for worker in reversed(self.background):
            await worker.stop()


def build_container(settings: Settings, *, dynamodb_client: Any | None = None) -> Container:
    client = dynamodb_client or build_dynamodb_client(settings)
    names = settings.table_names
    users = UsersRepository(client, names["users"])
    auth = AuthService(users=users, tokens=TokenCodec(settings), max_sessions=settings.max_sessions_per_user)
    return Container(settings=settings, dynamodb=client, users=users, auth=auth)
