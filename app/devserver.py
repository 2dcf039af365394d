"""`make run`: DynamoDB Local (persistent, under the data dir) + the API, stopped together.

Ctrl-C (or SIGTERM) stops uvicorn, then DynamoDB Local; the Java child also dies with us
if this process is killed outright (see `app.db.local_dynamodb`).
"""

import logging
import os
import sys

import uvicorn

from app.core.config import get_settings
from app.core.logging import configure_logging
from app.db.local_dynamodb import DynamoDBLocal, DynamoDBLocalError

logger = logging.getLogger("dermalens.devserver")


def main() -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.aws_dynamodb_endpoint and not settings.uses_local_dynamodb:
        logger.info("AWS_DYNAMODB_ENDPOINT points elsewhere; not starting DynamoDB Local")
        return _serve(settings.port)
    data_dir = settings.dermalens_data_dir.resolve()
    local = DynamoDBLocal(
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
        return _serve(settings.port)
    finally:
        local.stop()
        logger.info("DynamoDB Local stopped")


def _serve(port: int) -> int:
    logger.info("serving on http://127.0.0.1:%s (docs: /api/v1/docs)", port)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host="0.0.0.0",
        port=port,
        log_config=None,
        # The app resolves the client address itself (TRUSTED_PROXIES); uvicorn must not
        # first replace the peer with a client-written X-Forwarded-For (its default trusts
        # 127.0.0.1, and --forwarded-allow-ips=* trusts everyone).
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
