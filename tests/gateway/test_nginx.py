"""examples/nginx/ end to end: the real nginx, our decision endpoint, and a tiny upstream."""

import requests

from tests.gateway.nginx import pytestmark  # noqa: F401 - live, transactional, needs nginx


def test_nginx_enforces_decisions_end_to_end(gateway, tokens, settings, rate_limit_clock):
    settings.GATEWAY_RATE_LIMIT = 5
    reader = {"Authorization": f"Bearer {tokens['reader']}"}

    assert requests.get(f"{gateway}/api/orders/1", timeout=5).status_code == 401

    spoofed = {**reader, "X-Auth-Subject": "root", "X-Auth-Roles": "admin"}
    ok = requests.get(f"{gateway}/api/orders/1", headers=spoofed, timeout=5)
    assert ok.status_code == 200
    seen = ok.json()
    assert seen["x-auth-subject"] == "reader-svc"
    assert seen["x-auth-roles"] == "orders-reader"
    assert seen["x-auth-client"] == "reader-svc"

    assert requests.post(f"{gateway}/api/orders", headers=reader, timeout=5).status_code == 403

    statuses = [
        requests.get(f"{gateway}/api/orders/2", headers=reader, timeout=5).status_code
        for _ in range(6)
    ]
    assert statuses[-1] == 429 and 200 in statuses
    limited = requests.get(f"{gateway}/api/orders/2", headers=reader, timeout=5)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
