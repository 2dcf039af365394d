"""`python -m app.worker`: analysis workers only, no HTTP (scale analysis apart from the API).

Runs the same `AnalysisWorker` an API instance runs: with ANALYSIS_QUEUE=sqs its threads
long-poll the queue; with the in-process queue it picks up queued scans from their job
markers every ANALYSIS_SWEEP_SECONDS. SIGTERM/SIGINT stop it after the analyses in
progress finish (queued scans keep their markers or messages).
"""

import asyncio
import logging
import signal
import sys

from app.bootstrap import build_container
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging, log_startup
from app.db.dynamodb import prepare_tables, wait_for_dynamodb

logger = logging.getLogger("dermalens.worker")


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Start the workers and the maintenance sweep, run until `stop` is set (or a signal)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    container = build_container(settings)
    await asyncio.to_thread(wait_for_dynamodb, container.dynamodb, timeout_seconds=30)
    await asyncio.to_thread(prepare_tables, container.dynamodb, settings)
    await container.analysis_worker.start()
    await container.sweeper.start()
    log_startup(settings, role="worker", listen="no HTTP", container=container)
    try:
        await stop.wait()
    finally:
        logger.info("worker stopping: analyses in progress finish first")
        await container.sweeper.stop()
        await container.analysis_worker.stop()
        logger.info("worker stopped")


def main() -> int:
    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.json_logs)
    if settings.analysis_workers < 1:
        logger.error("ANALYSIS_WORKERS=0 leaves a worker process nothing to do; set it to 1 or more")
        return 2
    asyncio.run(run_worker(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
