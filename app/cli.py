"""`python -m app.cli COMMAND`: the operator's tools.

  doctor          configuration, credentials, tables and indexes, storage, queue, providers
  create-tables   create the missing tables (what the app does at start-up)
  seed-demo       a demo account with analysed scans, a plan, check-ins and a chat
  requeue-scans   send stuck scans (and with --user, failed ones) to analysis again
  export-user     everything stored about a user, as JSON (a support request)
  delete-user     erase a user and all their data (a support request; needs --yes)

Exit codes: 0 done, 1 a check or the command failed, 2 bad usage or unusable settings.
"""

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TextIO

from pydantic import ValidationError

from app.auth.models import UserRecord
from app.bootstrap import Container, build_container
from app.core.config import Settings, get_settings
from app.core.errors import DomainError
from app.core.logging import configure_logging
from app.core.security import iso, utc_now
from app.db.dynamodb import ensure_tables, prepare_tables, wait_for_dynamodb
from app.ops.doctor import render, run_doctor
from app.ops.seed import DEMO_EMAIL, seed_demo

# A scan pending this long with no worker finishing it is stuck (a worker's lease is 5 min).
STUCK_AFTER_MINUTES = 15


def _find_user(container: Container, *, user: str) -> UserRecord:
    found = (
        container.users.get_by_email(email=user.lower()) if "@" in user else container.users.get(user_id=user)
    )
    if found is None:
        raise LookupError(f"no user {user!r} (give an email or a user id)")
    return found


def cmd_doctor(container: Container, args: argparse.Namespace, out: TextIO) -> int:  # noqa: ARG001 - one signature
    checks = run_doctor(container.settings, container)
    print(render(checks), file=out)
    return 0 if all(check.ok for check in checks) else 1


def cmd_create_tables(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    wait_for_dynamodb(container.dynamodb, timeout_seconds=args.wait)
    created = ensure_tables(container.dynamodb, container.settings)
    print(f"created: {', '.join(created)}" if created else "every table already exists", file=out)
    return 0


def cmd_seed_demo(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    prepare_tables(container.dynamodb, container.settings)
    account = seed_demo(container, email=args.email, password=args.password)
    if account.existed:
        print(f"{account.email} already exists (user {account.user_id}); nothing changed", file=out)
        return 0
    print(f"demo user {account.email} (user {account.user_id})", file=out)
    print(f"  password: {account.password}", file=out)
    print(f"  scans: {', '.join(account.scan_statuses)}", file=out)
    print(f"  plan: {account.plan_id} with {account.checkins} check-ins", file=out)
    print(f"  chat session: {account.chat_session_id}", file=out)
    return 0 if all(status == "completed" for status in account.scan_statuses) else 1


def _requeue_failed(container: Container, user: UserRecord, now: str) -> tuple[list[str], list[str]]:
    """Failed scans of one user back to queued; quality failures stay (the photo is the problem)."""
    queued, skipped = [], []
    for scan in container.scans_repo.all_for_user(user_id=user.user_id):
        if scan.status != "failed":
            continue
        if scan.failure is not None and scan.failure.code == "quality_check_failed":
            skipped.append(scan.scan_id)
        elif container.scans_repo.requeue(scan=scan, now=now):
            queued.append(scan.scan_id)
    return queued, skipped


def cmd_requeue_scans(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    now = utc_now()
    jobs: list[tuple[str, str]] = []
    if args.user:
        user = _find_user(container, user=args.user)
        queued, skipped = _requeue_failed(container, user, iso(now))
        jobs += [(user.user_id, scan_id) for scan_id in queued]
        print(f"failed scans queued again: {len(queued)}", file=out)
        if skipped:
            print(f"  left alone (the photo failed its quality check): {', '.join(skipped)}", file=out)
    cutoff = iso(now - timedelta(minutes=args.older_than_minutes))
    stuck = [
        (user_id, scan_id)
        for user_id, scan_id, queued_at in container.scans_repo.pending_job_times()
        if (not queued_at or queued_at < cutoff) and (user_id, scan_id) not in jobs
    ]
    print(f"stuck scans (pending over {args.older_than_minutes} min): {len(stuck)}", file=out)
    jobs += stuck
    if container.job_queue is not None:
        for user_id, scan_id in jobs:
            container.job_queue.send(user_id=user_id, scan_id=scan_id)
        print(f"sent {len(jobs)} job(s) to the {container.job_queue.name} queue", file=out)
        return 0
    # The in-process queue lives inside the API processes: analyse here instead of waiting.
    outcomes: dict[str, int] = {}
    for user_id, scan_id in jobs:
        status = container.analysis.process(user_id, scan_id) or "held by a running worker"
        outcomes[status] = outcomes.get(status, 0) + 1
    print("analysed here: " + (", ".join(f"{n} {s}" for s, n in outcomes.items()) or "nothing"), file=out)
    return 0


def cmd_export_user(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    user = _find_user(container, user=args.user)
    data = container.account.export(user=user, image_url=lambda key: container.storage.download_url(key=key))
    text = json.dumps(data, indent=2, default=str)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        print(f"exported {user.user_id} to {args.output}", file=out)
    else:
        print(text, file=out)
    return 0


def cmd_delete_user(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    user = _find_user(container, user=args.user)
    if not args.yes:
        print(f"this erases {user.email} ({user.user_id}) and all their data; run again with --yes", file=out)
        return 2
    container.account.delete_on_request(user=user, requested_by=args.requested_by)
    print(f"deleted {user.email} ({user.user_id})", file=out)
    return 0


Command = Callable[[Container, argparse.Namespace, TextIO], int]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m app.cli", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check configuration and every dependency").set_defaults(
        run=cmd_doctor
    )
    create = commands.add_parser("create-tables", help="create the missing DynamoDB tables")
    create.add_argument("--wait", type=float, default=30.0, help="seconds to wait for DynamoDB to answer")
    create.set_defaults(run=cmd_create_tables)
    seed = commands.add_parser("seed-demo", help="make a demo account with data")
    seed.add_argument("--email", default=DEMO_EMAIL)
    seed.add_argument("--password", help="default: a random one, printed")
    seed.set_defaults(run=cmd_seed_demo)
    requeue = commands.add_parser("requeue-scans", help="analyse stuck (and a user's failed) scans again")
    requeue.add_argument("--user", help="email or user id: also queue this user's failed scans")
    requeue.add_argument("--older-than-minutes", type=int, default=STUCK_AFTER_MINUTES)
    requeue.set_defaults(run=cmd_requeue_scans)
    export = commands.add_parser("export-user", help="a user's data as JSON")
    export.add_argument("user", help="email or user id")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(run=cmd_export_user)
    delete = commands.add_parser("delete-user", help="erase a user and their data")
    delete.add_argument("user", help="email or user id")
    delete.add_argument("--yes", action="store_true", help="really delete")
    delete.add_argument("--requested-by", default="support", help="who asked (kept in the audit log)")
    delete.set_defaults(run=cmd_delete_user)
    return top


def embedded_default(settings: Settings) -> Settings:
    """In development with no endpoint set, the DynamoDB Local that `make run` starts.

    `make run` launches it on DYNAMODB_LOCAL_PORT and hands the endpoint to the API only, so
    a CLI started beside it (`python -m app.cli doctor`) would otherwise look for AWS.
    """
    if settings.environment != "development" or settings.aws_dynamodb_endpoint:
        return settings
    endpoint = f"http://127.0.0.1:{settings.dynamodb_local_port}"
    return settings.model_copy(update={"aws_dynamodb_endpoint": endpoint})


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    container: Container | None = None,
    out: TextIO | None = None,
) -> int:
    """Run one command; `settings`/`container` let tests point it at their own services."""
    out = out or sys.stdout
    args = parser().parse_args(argv)
    try:
        settings = settings or embedded_default(get_settings())
    except ValidationError as exc:
        print(f"[FAIL] configuration  {exc.errors()[0]['msg']}", file=out)
        return 2
    # Logs go to stderr (JSON in production), the report to stdout.
    configure_logging("WARNING", json_lines=settings.json_logs)
    run: Command = args.run
    try:
        container = container or build_container(settings)
        return run(container, args, out)
    except LookupError as exc:
        print(str(exc), file=out)
        return 1
    except DomainError as exc:
        print(f"{exc.code}: {exc.message}", file=out)
        return 1


if __name__ == "__main__":
    sys.exit(main())
