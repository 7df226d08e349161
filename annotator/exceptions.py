"""Map domain errors to HTTP responses, in one place for the whole API."""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from labeling import errors


def exception_handler(exc, context):
    """Render a labeling.errors.DomainError with its status; defer everything else to DRF."""
    if isinstance(exc, errors.DomainError):
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"detail": str(exc) or "Permission denied."}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)
