"""E-mail change at /account/email/: a recent sign-in, confirmed from the new address before
it applies, the old address told; the link works once."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.mailbox import link_in, text_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_new_address_applies_once_confirmed_and_the_old_one_is_told(mailbox, signed_in):
    page = signed_in.get("/account/email/")
    assert page.status_code == 200 and "alice@example.com" in page.content.decode()
    asked = signed_in.post("/account/email/", {"email": "alice@new.example.com"})
    assert asked.status_code == 200 and "A link is on its way" in asked.content.decode()
    user = signed_in.user
    user.refresh_from_db()
    assert user.email == "alice@example.com"  # nothing changes before the link is followed

    message = mailbox.wait("alice@new.example.com")[-1]
    assert message["Subject"] == "Confirm your new e-mail address for authserver"
    link = link_in(message, "/email/change/")
    assert Client().get(link).status_code == 200
    user.refresh_from_db()
    assert user.email == "alice@example.com"  # a GET (a mail scanner) changes nothing
    done = Client().post(link)
    assert done.status_code == 200 and "alice@new.example.com" in done.content.decode()
    user.refresh_from_db()
    assert (user.email, user.email_verified) == ("alice@new.example.com", True)
    assert Client().post(link).status_code == 410

    [told] = mailbox.wait("alice@example.com")
    assert told["Subject"] == "The e-mail address of your authserver account was changed"
    assert "was changed to alice@new.example.com" in text_of(told)


def test_an_address_of_another_account_is_refused(signed_in, make_user) -> None:
    make_user("bob")
    refused = signed_in.post("/account/email/", {"email": "BOB@example.com"})
    assert refused.status_code == 400 and "Another account has this address" in (
        refused.content.decode()
    )


def test_an_old_sign_in_must_sign_in_again(signed_in, settings) -> None:
    settings.MFA_REAUTH_SECONDS = -1
    response = signed_in.get("/account/email/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/account/email/")
    assert Client().get("/account/email/").status_code == 302  # signed out: the login page
