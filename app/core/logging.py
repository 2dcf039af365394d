"""Logs: one JSON object per line in production, readable lines in development; both carry
the request id (and the user id once a request has been authenticated)."""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from app.core.request_context import current_request_id, current_user_id

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON; extra fields passed with `extra=` are kept."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": current_request_id(),
        }
        user_id = current_user_id()
        if user_id:
            payload["user_id"] = user_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """`12:00:01 INFO  dermalens.access  GET /api/v1/scans 200  [request_id=… status=200]`: for people."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        fields: dict[str, Any] = {}
        request_id = current_request_id()
        if request_id != "-":
            fields["request_id"] = request_id
        user_id = current_user_id()
        if user_id:
            fields["user_id"] = user_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                fields[key] = value
        line = f"{moment} {record.levelname:<7} {record.name}  {record.getMessage()}"
        if fields:
            line += "  [" + " ".join(f"{key}={value}" for key, value in fields.items()) + "]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Send every logger through one handler on stderr (journald picks it up): JSON lines,
    or readable lines for a developer's terminal."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "uvicorn.access", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def audit(event: str, **fields: Any) -> None:
    """One structured audit line (sign-in, password change, deletion, export...)."""
    logging.getLogger("dermalens.audit").info(event, extra={"audit_event": event, **fields})


def log_startup(settings: Any, *, role: str, listen: str, container: Any) -> None:
    """The one line that says what this process is and what it talks to."""
    dynamodb = settings.aws_dynamodb_endpoint or f"AWS DynamoDB ({settings.aws_region})"
    storage = (
        f"s3://{settings.s3_bucket_name}"
        if settings.storage_backend == "s3"
        else f"local ({settings.dermalens_data_dir / 'images'})"
    )
    worker = container.analysis_worker
    fields = {
        "role": role,
        "listen": listen,
        "environment": settings.environment,
        "storage": storage,
        "vision": settings.vision_provider,
        "chat": settings.chat_provider,
        "dynamodb": dynamodb,
        "analysis_queue": worker.queue_name,
        "analysis_workers": settings.analysis_workers,
    }
    summary = ", ".join(f"{key} {value}" for key, value in fields.items() if key != "role")
    logging.getLogger("dermalens").info(f"DermaLens {role} started: {summary}", extra={"startup": fields})
