"""Our MFA policy after an upstream sign-in, and ``trust_mfa`` (the upstream's own factors)."""

from __future__ import annotations

import dataclasses

import pytest

from federation import flows
from federation import upstream as rp
from tests.federation.conftest import sign_in

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("outbound_loopback")]


def upstream_says(monkeypatch, **claims) -> None:
    """The upstream's answer, with ``claims`` added (oidc-provider's devInteractions sets no
    ``amr``)."""
    real = rp.identity

    def identity(*args, **kwargs):
        found = real(*args, **kwargs)
        return dataclasses.replace(found, claims={**found.claims, **claims})

    monkeypatch.setattr(rp, "identity", identity)


def test_mfa_required_sends_the_federated_user_to_the_second_factor(
    client, upstream, corp, settings
):
    settings.MFA_REQUIRED = True
    answer = sign_in(client, upstream)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/mfa/")
    assert "_auth_user_id" not in client.session  # not signed in with the upstream alone
    assert client.session["mfa.pending"]["first"] == ["fed"]


def test_a_trusted_upstreams_factors_satisfy_the_policy(
    client, upstream, corp, settings, monkeypatch
):
    settings.MFA_REQUIRED = True
    corp.trust_mfa = True
    corp.save()
    upstream_says(monkeypatch, amr=["pwd", "hwk"])
    answer = sign_in(client, upstream)
    assert answer["Location"] == "/account/providers/"
    state = client.session["authserver.auth"]
    assert (state["amr"], state["acr"]) == (["fed", "hwk", "mfa"], "2")


def test_an_untrusted_upstreams_amr_is_not_enough(client, upstream, corp, settings, monkeypatch):
    settings.MFA_REQUIRED = True  # corp has trust_mfa: false
    upstream_says(monkeypatch, amr=["pwd", "hwk"])
    answer = sign_in(client, upstream)
    assert answer["Location"].startswith("/mfa/")
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("claims", "factors"),
    [
        ({"amr": ["pwd"]}, None),
        ({"amr": ["pwd", "otp"]}, ["otp"]),
        ({"amr": ["mfa"]}, []),
        ({"acr": "phrh"}, []),
        ({"amr": "mfa"}, None),  # not a list: ignored
    ],
)
def test_trusted_factors(claims, factors):
    provider = type("P", (), {"trust_mfa": True})()
    assert flows._trusted_factors(provider, claims) == factors
