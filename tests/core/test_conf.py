"""core.conf.AppSettings: an app's settings object reads Django's, falls back to its defaults,
and follows changes (``setting_changed``)."""

from mfa import conf


def test_reads_the_project_setting_and_follows_a_change(settings):
    assert conf.settings.MFA_MAX_ATTEMPTS == settings.MFA_MAX_ATTEMPTS == 5
    settings.MFA_MAX_ATTEMPTS = 2
    assert conf.settings.MFA_MAX_ATTEMPTS == 2


def test_a_setting_the_project_does_not_define_takes_the_default(settings):
    del settings.MFA_TOTP_ISSUER
    assert conf.settings.MFA_TOTP_ISSUER == "authserver"
    settings.MFA_TOTP_ISSUER = "Example"
    assert conf.settings.MFA_TOTP_ISSUER == "Example"
