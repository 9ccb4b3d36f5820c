"""BFLA protection: every endpoint names the permission it needs; ``roles.access`` decides."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from roles import access
from roles.decisions import Principal


class HasManagementPermission(BasePermission):
    """Reads (GET, HEAD) need the view's ``read_permission``; any other method, whether the
    view implements it or not, needs its ``write_permission``. No method override header is
    honoured (DRF has none), so a verb cannot be smuggled past this check."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return False  # DRF answers 401 with the Bearer challenge
        safe = request.method in SAFE_METHODS and request.method != "OPTIONS"
        access.require_permission(
            principal, view.read_permission if safe else view.write_permission
        )
        return True
