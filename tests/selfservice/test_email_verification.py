"""E-mail verification against a real SMTP server: the link confirms the address once;
``email_verified`` in ID tokens and userinfo follows it; a changed address is unverified
again; a client may require a confirmed address (sign-in stops at "verify your address")."""

from __future__ import annotations

import jwt
import pytest
from django.test import Client

from core.actors import APPLY
from selfservice.models import Link
from tests.mailbox import html_of, link_in

pytestmark = pytest.mark.django_db(transaction=True)


def _claims(flow) -> tuple[dict, dict]:
    tokens = flow.tokens()
    id_token = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    info = flow.browser.get(
        "/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    ).json()
    return id_token, info


def _verify_by_mail(mailbox, browser: Client, address: str = "alice@example.com") -> str:
    page = browser.post("/email/verify/")
    assert page.status_code == 200 and "A new link is on its way" in page.content.decode()
    message = mailbox.wait(address)[-1]
    assert message["Subject"] == "Confirm your e-mail address for authserver"
    assert address in html_of(message)
    return link_in(message, "/email/verify/")


def test_the_link_confirms_the_address_once_and_the_claims_follow(mailbox, code_flow) -> None:
    id_token, info = _claims(code_flow)
    assert id_token["email"] == "alice@example.com" and id_token["email_verified"] is False
    assert info["email_verified"] is False

    link = _verify_by_mail(mailbox, code_flow.browser)
    anonymous = Client()
    shown = anonymous.get(link)  # a mail scanner's GET confirms nothing
    assert shown.status_code == 200 and "Confirm the address" in shown.content.decode()
    code_flow.browser.user.refresh_from_db()
    assert code_flow.browser.user.email_verified is False
    done = anonymous.post(link)
    assert done.status_code == 200 and "is confirmed as your address" in done.content.decode()
    assert anonymous.post(link).status_code == 410

    id_token, info = _claims(code_flow)
    assert id_token["email_verified"] is True and info["email_verified"] is True


def test_a_changed_address_is_unverified_and_old_links_die(mailbox, signed_in) -> None:
    from accounts import services

    link = _verify_by_mail(mailbox, signed_in)
    user = signed_in.user
    user.refresh_from_db()
    services.user_update(actor=APPLY, user=user, email="alice@new.example.com")
    assert Client().post(link).status_code == 404  # sent to the old address
    user.email_verified = True
    user.save()
    services.user_update(actor=APPLY, user=user, email="alice@newer.example.com")
    user.refresh_from_db()
    assert user.email_verified is False


def test_a_verified_user_is_sent_nothing(mailbox, signed_in) -> None:
    signed_in.user.email_verified = True
    signed_in.user.save()
    page = signed_in.post("/email/verify/").content.decode()
    assert "is confirmed." in page
    assert not Link.objects.exists() and mailbox.messages == []


def test_a_client_that_requires_a_confirmed_address_stops_at_verify(mailbox, code_flow) -> None:
    from oauth import services

    client = code_flow.client_obj
    services.client_update(actor=APPLY, client=client, spec={"require_verified_email": True})
    response = code_flow.authorize("x" * 43, code_challenge_method="S256")
    assert response.status_code == 302
    assert response["Location"].startswith("/email/verify/?next=%2Fo%2Fauthorize%2F")
    silent = code_flow.authorize("x" * 43, code_challenge_method="S256", prompt="none")
    assert silent.status_code == 302 and "error=interaction_required" in silent["Location"]
    page = code_flow.browser.get(response["Location"]).content.decode()
    assert "is not confirmed yet" in page and 'name="next" value="/o/authorize/?' in page

    link = _verify_by_mail(mailbox, code_flow.browser)
    assert Client().post(link).status_code == 200
    tokens = code_flow.tokens()
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["email_verified"]


def test_verify_status_needs_a_sign_in() -> None:
    response = Client().get("/email/verify/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_redirect_elsewhere_is_not_offered(signed_in) -> None:
    page = signed_in.get("/email/verify/?next=https://evil.example/").content.decode()
    assert "evil.example" not in page
