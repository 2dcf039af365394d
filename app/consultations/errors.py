"""The consultation domain's refusals (each one a code the app can act on)."""

from app.core.errors import ConflictError, DomainError, ForbiddenError, NotFoundError


class ConsultationNotFoundError(NotFoundError):
    code = "consultation_not_found"
    message = "No such consultation."


class ReportLinkInvalidError(ForbiddenError):
    code = "invalid_report_link"
    message = "This report link is not valid."


class ReportGoneError(DomainError):
    """The link was real, but the report is no longer shared (expired or cancelled)."""

    status_code = 410
    code = "report_link_expired"
    message = "This report link has expired; ask the patient for a new one."


class ReportNotFoundError(NotFoundError):
    code = "report_not_found"
    message = "This report no longer exists."


class ConsultationStateError(ConflictError):
    code = "consultation_state"
