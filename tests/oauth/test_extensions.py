"""oauth's extension points: filled by the apps above it, and failing closed when empty."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.session import ACR_MFA, ACR_PASSWORD
from oauth import extensions
from roles import selectors


def test_mfa_registers_the_second_factor_policy():
    policy = extensions.second_factor()
    assert policy.acr_values_supported == [ACR_PASSWORD, ACR_MFA]
    assert policy.satisfied({"acr": ACR_MFA}) and not policy.satisfied({"acr": ACR_PASSWORD})


def test_no_second_factor_policy_is_a_configuration_error_not_no_mfa(monkeypatch):
    monkeypatch.setattr(extensions, "_second_factor", [])
    with pytest.raises(ImproperlyConfigured):
        extensions.second_factor()


def test_roles_registers_the_roles_claim():
    assert extensions.user_claims["roles"] is selectors.user_roles
