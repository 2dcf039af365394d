"""`make run`: DynamoDB Local (persistent, under the data dir) + the API, stopped together.

Both listen on loopback unless HOST / DYNAMODB_LOCAL_HOST say otherwise. The API runs in
WEB_CONCURRENCY worker processes, each on its own socket (`app.serve`). Ctrl-C (or
SIGTERM) stops the workers, then DynamoDB Local; the Java child also dies with us if this
process is killed outright (see `app.db.local_dynamodb`). Without a SECRET_KEY, the first
run generates one under the data dir and later runs reuse it (see `get_settings`).

With AWS_DYNAMODB_ENDPOINT set, that endpoint is used as it is and nothing is launched: a
DynamoDB Local started by hand (`docker run -p 8000:8000 amazon/dynamodb-local`, as the
first edition's README did), a counting proxy in front of one, or DynamoDB itself.
"""

import logging
import os
import signal
import sys
from types import FrameType
from urllib.parse import urlsplit

from pydantic import ValidationError

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.db.dynamodb import build_dynamodb_client, wait_for_dynamodb
from app.db.local_dynamodb import DynamoDBLocal, DynamoDBLocalError
from app.serve import ServeOptions, serve

logger = logging.getLogger("dermalens.devserver")
# How long `make run` waits for an endpoint it did not start (a container still booting).
EXTERNAL_WAIT_SECONDS = 20.0


def main() -> int:
    # A SIGTERM before the API serves (DynamoDB Local starting) exits through SystemExit, so
    # the `finally` below still stops DynamoDB Local; once serving, `serve` handles it.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        settings = get_settings()
    except ValidationError as exc:
        # One readable paragraph per problem instead of a traceback.
        print(f"cannot start: the configuration (environment and .env) is invalid\n{exc}", file=sys.stderr)  # noqa: T201
        return 2
    configure_logging(settings.log_level)
    if settings.aws_dynamodb_endpoint:
        return _serve_external(settings)
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
        return _serve(settings)
    finally:
        local.stop()
        logger.info("DynamoDB Local stopped")


def _serve_external(settings: Settings) -> int:
    """Serve against an endpoint we did not start; refuse clearly when it cannot work."""
    endpoint = settings.aws_dynamodb_endpoint
    target = urlsplit(endpoint)
    if not target.hostname or target.scheme not in ("http", "https"):
        logger.error("AWS_DYNAMODB_ENDPOINT=%s is not an http(s) URL (e.g. http://localhost:8000)", endpoint)
        return 2
    target_port = target.port or (443 if target.scheme == "https" else 80)
    if target_port == settings.port and target.hostname in ("localhost", "127.0.0.1", "::1"):
        # The first edition ran DynamoDB Local in docker on 8000, the API's default port too.
        logger.error(
            "AWS_DYNAMODB_ENDPOINT=%s and the API both want port %s; set PORT to another port",
            endpoint,
            settings.port,
        )
        return 2
    try:
        wait_for_dynamodb(build_dynamodb_client(settings), timeout_seconds=EXTERNAL_WAIT_SECONDS)
    except TimeoutError:
        logger.error(
            "DynamoDB at AWS_DYNAMODB_ENDPOINT=%s does not answer; start it (for example "
            "`docker run -p 8000:8000 amazon/dynamodb-local`) or leave AWS_DYNAMODB_ENDPOINT "
            "empty to let `make run` start DynamoDB Local itself",
            endpoint,
        )
        return 1
    logger.info("using DynamoDB at %s (AWS_DYNAMODB_ENDPOINT); not starting DynamoDB Local", endpoint)
    return _serve(settings)


def _serve(settings: Settings) -> int:
    host, port = settings.host, settings.port
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    logger.info(
        "serving on http://%s:%s with %s worker process(es) (docs: /api/v1/docs)",
        shown,
        port,
        settings.web_concurrency,
    )
    return serve(
        ServeOptions(
            host=host,
            port=port,
            workers=settings.web_concurrency,
            # The app resolves the client address itself (TRUSTED_PROXIES); uvicorn must not
            # first replace the peer with a client-written X-Forwarded-For (its default trusts
            # 127.0.0.1, and --forwarded-allow-ips=* trusts everyone).
            proxy_headers=False,
        )
    )


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
