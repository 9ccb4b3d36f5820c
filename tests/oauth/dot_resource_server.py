"""A resource server written against django-oauth-toolkit's introspection client, run in its own
process (its own settings and database, as a real one would be): DOT's ``OAuth2Validator`` in
resource-server mode (``RESOURCE_SERVER_INTROSPECTION_URL`` and its API client's credentials)
protects ``GET https://<host>/orders/``.

Reads ``{"introspection_url", "client_id", "client_secret", "host", "tokens"}`` as JSON on stdin
and prints the status it answers for each token, as a JSON list
(``tests/oauth/test_resource_servers.py``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import django
from django.conf import settings
from django.urls import path

urlpatterns: list[Any] = []


def main() -> None:
    spec = json.load(sys.stdin)
    settings.configure(
        SECRET_KEY="resource-server-only",
        ALLOWED_HOSTS=[spec["host"]],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "oauth2_provider"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        USE_TZ=True,
        OAUTH2_PROVIDER={
            "RESOURCE_SERVER_INTROSPECTION_URL": spec["introspection_url"],
            "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": (
                spec["client_id"],
                spec["client_secret"],
            ),
        },
    )
    django.setup()
    from django.core.management import call_command
    from django.http import HttpResponse
    from django.test import Client
    from oauth2_provider.views.generic import ProtectedResourceView

    class Orders(ProtectedResourceView):
        def get(self, request: Any) -> HttpResponse:
            return HttpResponse("orders")

    urlpatterns.append(path("orders/", Orders.as_view()))
    call_command("migrate", verbosity=0)
    browser = Client(HTTP_HOST=spec["host"])
    statuses = [
        browser.get("/orders/", secure=True, HTTP_AUTHORIZATION=f"Bearer {token}").status_code
        for token in spec["tokens"]
    ]
    print(json.dumps(statuses))


if __name__ == "__main__":
    main()
