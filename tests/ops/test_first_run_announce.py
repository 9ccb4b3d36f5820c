"""``make run``'s gunicorn prints the console, discovery and API-docs URLs and, while no
administrator exists, a one-time setup link as the last line it prints that is not a JSON log
line; the link works and its token is masked in the access log."""

from __future__ import annotations

import re

import pytest
import requests

from tests.ops.servers import AppServer, migrated_embedded_env, wait_for

pytestmark = pytest.mark.live
LINK = re.compile(r"^http://\S+/setup/([A-Za-z0-9_-]{43})$", re.M)


def test_gunicorn_announces_the_setup_link_last(tmp_path):
    server = AppServer(
        migrated_embedded_env(tmp_path), tmp_path, GUNICORN_ACCESS_LOG="-", ANNOUNCE="1"
    )
    server.start()
    try:
        wait_for(lambda: LINK.search(server.log()) is not None, "the setup link")
        printed = [line for line in server.log().splitlines() if not line.startswith("{")]
        assert printed[-5:-1] == [
            f"Console:   {server.base}/console/",
            f"Discovery: {server.base}/.well-known/openid-configuration",
            f"API docs:  {server.base}/api/v1/docs/",
            "No administrator yet; create one (once, within 24 h) at:",
        ]
        token = LINK.fullmatch(printed[-1]).group(1)
        page = requests.get(f"{server.base}/setup/{token}", timeout=10)
        assert page.status_code == 200 and 'name="password"' in page.text
        wait_for(lambda: '"/setup/<token>"' in server.log(), "the access-log line")
        assert server.log().count(token) == 1  # the printed link only
    finally:
        server.stop()
