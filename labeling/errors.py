"""Domain exceptions; annotator.exceptions maps them to HTTP statuses."""
from typing import Any


class DomainError(Exception):
    """Base of every rule the domain refuses; carries a status for the API layer."""

    http_status = 400
    code = "invalid"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.message, "code": self.code, **self.details}


class NotFound(DomainError):
    http_status = 404
    code = "not_found"


class NotAllowed(DomainError):
    http_status = 403
    code = "forbidden"


class Conflict(DomainError):
    http_status = 409
    code = "conflict"


class ImportRejected(DomainError):
    """A file that cannot be imported; `errors` lists {line, field, message} entries."""

    code = "import_rejected"

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class LabelNotInTaxonomy(DomainError):
    code = "label_not_in_taxonomy"


class TaxonomyInvalid(DomainError):
    code = "taxonomy_invalid"


class SubmissionIncomplete(DomainError):
    """A submit refused because steps lack a label or a required rationale."""

    code = "submission_incomplete"
