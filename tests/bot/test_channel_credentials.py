"""The credentials file: Rasa's keys carry over, the environment overrides, secrets stay hidden."""

from __future__ import annotations

import logging

import pytest

from bot.channels.credentials import CredentialsError, load

RASA_FILE = """
rest:
socketio:
  user_message_evt: user_uttered
twilio:
  account_sid: "ACxxxxxxxx"
  auth_token: "${TWILIO_TOKEN}"
  twilio_number: "+15550100"
telegram:
  access_token: "490161424:AAGlRxinBRtKGb21_rlOEMtDFZMXBl6EC0o"
  verify: "your_bot"
  webhook_url: "https://your_url.com/webhooks/telegram/webhook"
facebook:
  verify: "rasa-bot"
  secret: "3e34709d01ea89032asdebfe5a74518"
  page-access-token: "EAAbHPa7H9rEBAAuFk4Q3gPKbDedQnx4djJJ1JmQ7CAqO4iJKrQcNT0wtD"
my_package.MyCustomChannel:
  key: value
"""


def test_a_rasa_credentials_file_carries_over(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text(RASA_FILE)
    creds = load(path, environ={"TWILIO_TOKEN": "from-the-environment"})
    assert creds.twilio.account_sid == "ACxxxxxxxx" and creds.twilio.auth_token == "from-the-environment"
    assert creds.telegram.verify == "your_bot" and creds.telegram.webhook_url.endswith("/webhooks/telegram/webhook")
    assert creds.facebook.page_access_token.startswith("EAAb") and creds.facebook.secret.startswith("3e34")
    assert creds.whatsapp is None and creds.email is None and creds.instagram is None


def test_secrets_never_show_in_reprs(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text(RASA_FILE)
    creds = load(path, environ={"TWILIO_TOKEN": "from-the-environment"})
    shown = repr(creds)
    for value in ("from-the-environment", "AAGlRxinBRtKGb21", "3e34709d01ea89032asdebfe5a74518", "EAAbHPa7H9rE"):
        assert value not in shown
    assert "ACxxxxxxxx" in shown   # identifiers are not secrets
    assert set(creds.secrets()) >= {"from-the-environment", "3e34709d01ea89032asdebfe5a74518"}


def test_rasas_whatsapp_through_the_twilio_section_keeps_rasas_webhook_path(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text('twilio:\n  account_sid: AC1\n  auth_token: t\n  twilio_number: "whatsapp:+14155238886"\n')
    creds = load(path, environ={})
    assert creds.twilio is None and creds.whatsapp.is_whatsapp and creds.whatsapp_on_twilio_path


def test_the_environment_configures_and_overrides(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text("email:\n  from_address: a@shop.test\n  smtp_host: mail.shop.test\n  smtp_port: 25\n")
    creds = load(path, environ={"BATON_EMAIL_SMTP_PORT": "2525", "BATON_EMAIL_SMTP_PASSWORD": "pw",
                                "BATON_INSTAGRAM_VERIFY": "v", "BATON_INSTAGRAM_SECRET": "s",
                                "BATON_INSTAGRAM_PAGE_ACCESS_TOKEN": "p", "BATON_INSTAGRAM_HUMAN_AGENT_TAG": "true"})
    assert creds.email.smtp_port == 2525 and creds.email.smtp_password == "pw"
    assert creds.instagram.page_access_token == "p" and creds.instagram.human_agent_tag is True
    assert load(tmp_path / "absent.yml", environ={}).twilio is None


def test_a_missing_key_or_a_bad_value_stops_start_up_naming_it(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text("facebook:\n  verify: v\n")
    with pytest.raises(CredentialsError, match="secret, page_access_token.*BATON_FACEBOOK_SECRET"):
        load(path, environ={})
    path.write_text("telegram:\n  access_token: x\n  timeout_seconds: soon\n")
    with pytest.raises(CredentialsError, match="telegram.timeout_seconds"):
        load(path, environ={})
    path.write_text("twilio:\n  account_sid: AC1\n  auth_token: t\n  twilio_number: '+1'\n  x: ${UNSET_VAR}\n")
    with pytest.raises(CredentialsError, match="UNSET_VAR"):
        load(path, environ={})
    path.write_text("twilio:\n  account_sid: AC1\n  auth_token: t\n  twilio_number: +15550100\n")
    with pytest.raises(CredentialsError, match="quote twilio.twilio_number"):
        load(path, environ={})
    path.write_text("email:\n  from_address: a@shop.test\n")
    with pytest.raises(CredentialsError, match="smtp_host"):
        load(path, environ={})


def test_unknown_keys_are_logged_without_their_values(tmp_path, caplog):
    path = tmp_path / "credentials.yml"
    path.write_text("telegram:\n  access_token: '1:secret-token'\n  acess_tokn: 'typo-secret'\n")
    with caplog.at_level(logging.DEBUG):
        load(path, environ={})
    assert "acess_tokn" in caplog.text and "typo-secret" not in caplog.text and "secret-token" not in caplog.text
