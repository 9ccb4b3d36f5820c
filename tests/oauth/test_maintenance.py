"""Housekeeping: expired codes, tokens and sign-in contexts go; live ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_grant_model, get_refresh_token_model

from oauth.models import AuthContext
from oauth.tasks import clear_expired_tokens_task
from tests.conftest import login
from tests.flows import authorize, exchange

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, make_user):
    make_user("alice")
    login(client, "alice")
    return client


def _age(context: AuthContext, seconds: int) -> None:
    AuthContext.objects.filter(pk=context.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_code_never_exchanged_is_cleared_with_its_context(signed_in, web_client, settings):
    web, _ = web_client
    authorize(signed_in, web.client_id)
    context = AuthContext.objects.get()
    get_grant_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
    _age(context, settings.AUTHORIZATION_CODE_LIFETIME + 120)

    assert clear_expired_tokens_task.delay().get() == 1
    assert not get_grant_model().objects.exists()
    assert not AuthContext.objects.exists()
    assert clear_expired_tokens_task.delay().get() == 0


def test_a_live_token_family_keeps_its_context(signed_in, web_client, settings):
    web, secret = web_client
    code, verifier = authorize(signed_in, web.client_id)
    assert exchange(signed_in, web.client_id, secret, code, verifier).status_code == 200
    context = AuthContext.objects.get()
    _age(context, settings.AUTHORIZATION_CODE_LIFETIME + 120)

    assert clear_expired_tokens_task.delay().get() == 0
    assert AuthContext.objects.filter(pk=context.pk).exists()
    assert get_refresh_token_model().objects.filter(token_family=context.token_family).exists()


def test_a_context_past_the_absolute_refresh_lifetime_is_cleared(signed_in, web_client, settings):
    web, secret = web_client
    code, verifier = authorize(signed_in, web.client_id)
    exchange(signed_in, web.client_id, secret, code, verifier)
    _age(AuthContext.objects.get(), settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME + 1)

    assert clear_expired_tokens_task.delay().get() == 1
    assert not AuthContext.objects.exists()
