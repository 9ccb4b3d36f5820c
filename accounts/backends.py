"""What an authentication backend of another app may raise to the sign-in page.

Django's ``authenticate()`` turns only ``PermissionDenied`` into a refusal; a backend that asks a
remote source for the password (the directory app's LDAP backend) raises ``SourceUnavailable``
when it could not ask it, and the login view shows "cannot reach the directory" (503) instead
of "wrong password": the password was not checked, so nothing is counted against the account.
"""

from __future__ import annotations


class SourceUnavailable(Exception):
    """The source holding this user's password could not be reached."""
