"""`python -m app.cli seed-demo`: a demo account that shows the app alive — three analysed
scans of a real face photo (redness easing off scan after scan), a plan from them, a few
check-ins and a chat — made through the same services a request uses."""

import asyncio
import io
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from app.core.security import utc_now

if TYPE_CHECKING:
    from app.bootstrap import Container

# NASA's public-domain astronaut portrait (Eileen Collins), as scikit-image ships it, 1024 px.
DEMO_PHOTO = Path(__file__).parent / "demo" / "face.jpg"
DEMO_EMAIL = "demo@dermalens.app"
# Red added to the photo per scan, oldest first: the progress view has something to show.
REDNESS_STEPS = (36.0, 18.0, 0.0)
DEMO_QUESTIONS = (
    "Can I use my vitamin C serum in the morning with this plan?",
    "My cheeks look less red than last month. Should I change anything?",
)


@dataclass(frozen=True)
class DemoAccount:
    """What was made (or found), for the report."""

    user_id: str
    email: str
    password: str | None
    scan_statuses: tuple[str, ...] = ()
    plan_id: str | None = None
    checkins: int = 0
    chat_session_id: str | None = None
    existed: bool = False


def redder(photo: bytes, amount: float) -> bytes:
    """The photo with `amount` added to its red channel (clipped), as JPEG."""
    if amount <= 0:
        return photo
    rgb = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB")).astype(np.float32)
    rgb[..., 0] = np.clip(rgb[..., 0] + amount, 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _wait_for_analysis(container: "Container", *, user_id: str, scan_id: str, timeout: float = 120) -> str:
    """A running worker claimed the scan first: its final status once it is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scan = container.scans_repo.get(user_id=user_id, scan_id=scan_id)
        if scan is None or scan.status in ("completed", "failed"):
            return scan.status if scan else "deleted"
        time.sleep(0.2)
    return "still processing"


def seed_demo(container: "Container", *, email: str = DEMO_EMAIL, password: str | None = None) -> DemoAccount:
    """Make the demo account, or report the existing one unchanged (running it twice is safe)."""
    existing = container.users.get_by_email(email=email)
    if existing is not None:
        return DemoAccount(user_id=existing.user_id, email=email, password=None, existed=True)
    password = password or secrets.token_urlsafe(12)
    user, _ = container.auth.register(
        email=email,
        password=password,
        profile={"full_name": "Demo User"},
        user_agent="dermalens-cli seed-demo",
        client_ip="cli",
    )
    photo = DEMO_PHOTO.read_bytes()
    statuses = []
    for amount in REDNESS_STEPS:
        view = container.scans.create_from_upload(
            user_id=user.user_id, images={"front": redder(photo, amount)}
        )
        # Analysed here and now, so the account is complete when the command returns; a
        # worker that also got the job finds it claimed and leaves it.
        status = container.analysis.process(user.user_id, view.read.scan_id)
        statuses.append(
            status or _wait_for_analysis(container, user_id=user.user_id, scan_id=view.read.scan_id)
        )
    plan = container.plans.create(user=user, scan_id=None, override_reason=None)
    # A plan starts today and check-ins cannot predate it: today's, with the evening skipped.
    days = [utc_now().date()]
    for day in days:
        container.plans.check_in(
            user=user,
            plan_id=plan.plan_id,
            checkin={"date": day, "am_done": True, "pm_done": False, "skipped_steps": []},
        )
    session_id = None
    for question in DEMO_QUESTIONS:
        turn = asyncio.run(container.chat.send(user=user, content=question, session_id=session_id))
        session_id = turn.session_id
    return DemoAccount(
        user_id=user.user_id,
        email=email,
        password=password,
        scan_statuses=tuple(statuses),
        plan_id=plan.plan_id,
        checkins=len(days),
        chat_session_id=session_id,
    )
