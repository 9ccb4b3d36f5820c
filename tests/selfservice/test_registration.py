"""Self-registration: off by default; when open (optionally for some domains) the account is
made disabled and the mailed link confirms the address and enables it; an address with an
account gets the same answer and no second account."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.conftest import PASSWORD, login
from tests.mailbox import link_in

pytestmark = pytest.mark.django_db(transaction=True)


def _register(email: str = "gil@example.com", username: str = "gil"):
    return Client().post(
        "/register/",
        {"username": username, "email": email, "password": PASSWORD, "password2": PASSWORD},
    )


def test_registration_is_off_by_default() -> None:
    assert Client().get("/register/").status_code == 404
    assert _register().status_code == 404
    assert "Create an account" not in Client().get("/accounts/login/").content.decode()


def test_a_registered_account_works_once_its_address_is_confirmed(mailbox, settings) -> None:
    settings.REGISTRATION_OPEN = True
    assert 'href="/register/"' in Client().get("/accounts/login/").content.decode()
    response = _register()
    assert response.status_code == 200 and "Check your mail" in response.content.decode()
    user = User.objects.get(username="gil")
    assert not user.is_active and not user.email_verified
    assert login(Client(), "gil").status_code == 200  # refused: not confirmed yet

    link = link_in(mailbox.wait("gil@example.com")[-1], "/email/verify/")
    assert Client().post(link).status_code == 200
    user.refresh_from_db()
    assert user.is_active and user.email_verified
    assert login(Client(), "gil").status_code == 302


def test_a_taken_address_gets_the_same_answer_and_no_account(mailbox, settings, make_user):
    settings.REGISTRATION_OPEN = True
    make_user("hal", email="hal@example.com")
    taken = _register(email="hal@example.com", username="other")
    fresh = _register(email="new@example.com", username="newbie")
    assert taken.status_code == fresh.status_code == 200
    assert taken.content.decode().replace("hal@example.com", "X") == fresh.content.decode().replace(
        "new@example.com", "X"
    )
    assert not User.objects.filter(username="other").exists()
    mailbox.wait("new@example.com")
    assert mailbox.to("hal@example.com") == []


def test_only_the_listed_domains_may_register(settings) -> None:
    settings.REGISTRATION_OPEN = True
    settings.REGISTRATION_DOMAINS = ["example.org"]
    refused = _register(email="gil@example.com")
    assert refused.status_code == 400 and "this domain cannot register" in refused.content.decode()
    assert _register(email="gil@EXAMPLE.org").status_code == 200
