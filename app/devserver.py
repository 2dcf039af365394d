"""`make run`: DynamoDB Local (persistent, under the data dir) + the API, stopped together.

Both listen on loopback unless HOST / DYNAMODB_LOCAL_HOST say otherwise. Ctrl-C (or
SIGTERM) stops uvicorn, then DynamoDB Local; the Java child also dies with us if this
process is killed outright (see `app.db.local_dynamodb`). Without a SECRET_KEY, the first
run generates one under the data dir and later runs reuse it (see `get_settings`).
"""

import logging
import os
import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from app.core.config import get_settings
from app.core.logging import configure_logging
from app.db.local_dynamodb import DynamoDBLocal, DynamoDBLocalError

logger = logging.getLogger("dermalens.devserver")


def main() -> int:
    # uvicorn re-raises the SIGTERM it handled once it has shut down; exiting through
    # SystemExit (not the default handler) lets the `finally` below stop DynamoDB Local.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        settings = get_settings()
    except ValidationError as exc:
        # One readable paragraph per problem instead of a traceback.
        print(f"cannot start: the configuration (environment and .env) is invalid\n{exc}", file=sys.stderr)  # noqa: T201
        return 2
    configure_logging(settings.log_level)
    if settings.aws_dynamodb_endpoint and not settings.uses_local_dynamodb:
        logger.info("AWS_DYNAMODB_ENDPOINT points elsewhere; not starting DynamoDB Local")
        return _serve(settings.host, settings.port)
    data_dir = settings.dermalens_data_dir.resolve()
    local = DynamoDBLocal(
        host=settings.dynamodb_local_host,
        port=settings.dynamodb_local_port,
        data_dir=data_dir / "dynamodb",
        log_file=data_dir / "dynamodb-local.log",
    )
    try:
        local.start()
    except DynamoDBLocalError as exc:
        logger.error("cannot start DynamoDB Local: %s", exc)
        return 1
    os.environ["AWS_DYNAMODB_ENDPOINT"] = local.endpoint
    get_settings.cache_clear()
    try:
        return _serve(settings.host, settings.port)
    finally:
        local.stop()
        logger.info("DynamoDB Local stopped")


def _serve(host: str, port: int) -> int:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    logger.info("serving on http://%s:%s (docs: /api/v1/docs)", shown, port)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        # The app resolves the client address itself (TRUSTED_PROXIES); uvicorn must not
        # first replace the peer with a client-written X-Forwarded-For (its default trusts
        # 127.0.0.1, and --forwarded-allow-ips=* trusts everyone).
        proxy_headers=False,
    )
    return 0


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
