"""Outgoing mail behind one interface: `log` (default: the message goes to the log) or `ses`."""

import logging
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from app.core.errors import DependencyUnavailableError

logger = logging.getLogger("dermalens.mail")


class Mailer(Protocol):
    name: str

    def send(self, *, to: str, subject: str, body: str) -> None: ...


class LogMailer:
    """Development mailer: writes the whole message to the log (and keeps the last ones)."""

    name = "log"

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def send(self, *, to: str, subject: str, body: str) -> None:
        self.sent = [*self.sent[-49:], {"to": to, "subject": subject, "body": body}]
        logger.info("mail to %s: %s\n%s", to, subject, body, extra={"mail_to": to, "mail_subject": subject})


class SesMailer:
    """Amazon SES through the instance role."""

    name = "ses"

    def __init__(self, *, client: Any, sender: str) -> None:
        self._ses = client
        self._sender = sender

    def send(self, *, to: str, subject: str, body: str) -> None:
        try:
            self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError("Mail could not be sent; try again shortly.") from exc
