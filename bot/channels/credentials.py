"""Which provider channels are on, and their credentials: one file, in the spirit of Rasa's `credentials.yml`.

The file is `credentials.yml` in the working directory, or the one `BATON_CREDENTIALS` names.
Sections and keys are Rasa's where Rasa has the connector, so a Rasa project's file carries over:

    twilio:                      # SMS (a `whatsapp:+…` number here means WhatsApp, as in Rasa)
      account_sid: AC…
      auth_token: …
      twilio_number: "+15550100"
    whatsapp:                    # Baton's own section, the same keys
      account_sid: AC…
      auth_token: …
      twilio_number: "whatsapp:+15550100"
    telegram:
      access_token: "123456:ABC…"
      verify: my_shop_bot        # the bot's username
      webhook_url: https://baton.example.com/webhooks/telegram/webhook
    facebook:
      verify: a-token-you-choose
      secret: <app secret>
      page-access-token: <page access token>
    instagram:                   # the same keys as facebook
    email:
      from_address: support@shop.example
      smtp_host: smtp.example.com
      …

`${NAME}` in a value is replaced by that environment variable (as Rasa does), and every key can
be set or overridden with `BATON_<SECTION>_<KEY>` (`BATON_TWILIO_AUTH_TOKEN`,
`BATON_FACEBOOK_PAGE_ACCESS_TOKEN`). A section enables its channel; a section that lacks a
required key stops start-up with the key named. Sections Baton has no channel for (`rest`,
`socketio`, custom connectors) are skipped. Secrets never appear in a repr or a log line.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Type, TypeVar

import yaml

log = logging.getLogger(__name__)

DEFAULT_FILE = "credentials.yml"


class CredentialsError(ValueError):
    """The credentials file or environment cannot configure a channel; the message names what is wrong."""


def hidden(default: Any = None) -> Any:
    """A field whose value must never be shown (repr, logs, error messages)."""
    return field(default=default, repr=False, metadata={"secret": True})


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str = hidden()
    twilio_number: Optional[str] = None          # "+1…" (SMS) or "whatsapp:+1…"
    messaging_service_sid: Optional[str] = None  # instead of a number, as Twilio allows
    base_url: str = "https://api.twilio.com"
    timeout_seconds: float = 10.0
    # WhatsApp: free-form messages only within this long after the customer's last message.
    session_window_hours: float = 24.0
    # WhatsApp: a pre-approved template (Twilio Content SID, "HX…") for agent replies after the
    # window closed; the reply's text fills its variable {{1}}. Without one, such replies are refused.
    template_content_sid: Optional[str] = None

    required = ("account_sid", "auth_token")

    @property
    def is_whatsapp(self) -> bool:
        return (self.twilio_number or "").startswith("whatsapp:")


@dataclass(frozen=True)
class TelegramCredentials:
    access_token: str = hidden()
    verify: Optional[str] = None       # the bot's username (Rasa's key); informational here
    webhook_url: Optional[str] = None  # registered with Telegram at start-up when set
    # Sent by Telegram in X-Telegram-Bot-Api-Secret-Token; derived from the token when not set.
    secret_token: Optional[str] = hidden()
    base_url: str = "https://api.telegram.org"
    timeout_seconds: float = 10.0

    required = ("access_token",)


@dataclass(frozen=True)
class MetaCredentials:
    """Messenger (`facebook`) and Instagram: Meta's Graph API, with Rasa's facebook keys."""

    verify: str = hidden()              # the verify token you typed into the app's webhook settings
    secret: str = hidden()              # the app secret: X-Hub-Signature-256 is keyed with it
    page_access_token: str = hidden()   # Rasa's `page-access-token`
    api_version: str = "v19.0"
    base_url: str = "https://graph.facebook.com"
    timeout_seconds: float = 10.0
    # Agent replies sent with the HUMAN_AGENT tag reach a customer up to 7 days after their last
    # message instead of 24 hours (the tag needs Meta's approval for the app).
    human_agent_tag: bool = False

    required = ("verify", "secret", "page_access_token")


@dataclass(frozen=True)
class EmailCredentials:
    from_address: str
    from_name: Optional[str] = None
    smtp_host: Optional[str] = None
    smtp_port: int = 587
    smtp_security: str = "starttls"      # starttls | ssl | none
    smtp_username: Optional[str] = None
    smtp_password: Optional[str] = hidden()
    imap_host: Optional[str] = None      # polled when set
    imap_port: int = 993
    imap_security: str = "ssl"           # ssl | starttls | none
    imap_username: Optional[str] = None
    imap_password: Optional[str] = hidden()
    imap_folder: str = "INBOX"
    poll_seconds: float = 30.0
    # The HTTP inbound webhook: Mailgun signs its posts with this key …
    webhook_signing_key: Optional[str] = hidden()
    # … SendGrid's Inbound Parse cannot sign; put these in its URL (https://user:password@…).
    inbound_username: Optional[str] = None
    inbound_password: Optional[str] = hidden()
    # A sender's address counts as verified (it links their identities across channels) only when
    # the mail carries this receiving server's Authentication-Results header with dmarc=pass.
    authserv_id: Optional[str] = None
    timeout_seconds: float = 20.0
    max_message_bytes: int = 10 * 1024 * 1024

    required = ("from_address", "smtp_host")


@dataclass(frozen=True)
class ChannelCredentials:
    twilio: Optional[TwilioCredentials] = None
    whatsapp: Optional[TwilioCredentials] = None
    telegram: Optional[TelegramCredentials] = None
    facebook: Optional[MetaCredentials] = None
    instagram: Optional[MetaCredentials] = None
    email: Optional[EmailCredentials] = None
    # Rasa's `twilio` section with a WhatsApp number: WhatsApp also answers Rasa's webhook path.
    whatsapp_on_twilio_path: bool = False

    def secrets(self) -> List[str]:
        """Every secret value, so error texts can be scrubbed of them."""
        values: List[str] = []
        for section in dataclasses.fields(self):
            creds = getattr(self, section.name)
            if not dataclasses.is_dataclass(creds):
                continue
            for f in dataclasses.fields(creds):
                value = getattr(creds, f.name)
                if f.metadata.get("secret") and isinstance(value, str) and value:
                    values.append(value)
        return values


SECTIONS: Dict[str, Type[Any]] = {"twilio": TwilioCredentials, "whatsapp": TwilioCredentials,
                                  "telegram": TelegramCredentials, "facebook": MetaCredentials,
                                  "instagram": MetaCredentials, "email": EmailCredentials}

_ENV_REFERENCE = re.compile(r"\$\{([^}]+)\}")

T = TypeVar("T")


def _expand(value: Any, environ: Mapping[str, str]) -> Any:
    """`${NAME}` → the environment variable, as Rasa's credentials reader does."""
    if not isinstance(value, str):
        return value

    def replace(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in environ:
            raise CredentialsError(f"credentials refer to ${{{name}}}, which is not set in the environment")
        return environ[name]

    return _ENV_REFERENCE.sub(replace, value)


def _key(name: str) -> str:
    return name.strip().replace("-", "_").lower()


def _coerce(section: str, name: str, kind: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = str(kind)
    try:
        if "bool" in kind:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(value)
            return text in {"1", "true", "yes", "on"}
        if "float" in kind:
            return float(value)
        if "int" in kind:
            return int(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name.endswith("number"):
            # YAML reads +15550100 as the integer 15550100: the plus (and any leading zero) is gone.
            raise CredentialsError(f'credentials: quote {section}.{name} ("+15550100"): unquoted, YAML reads it '
                                   "as a number")
    except CredentialsError:
        raise
    except (TypeError, ValueError):
        plain = kind.replace("Optional[", "").rstrip("]")
        # The value itself is not repeated: it may be a secret in the wrong key.
        raise CredentialsError(f"credentials: {section}.{name} must be a {plain}")
    return str(value)


def _section(cls: Type[T], name: str, values: Dict[str, Any]) -> T:
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            log.warning("credentials: %s.%s is not a setting Baton knows; ignored", name, key)
            continue
        kwargs[key] = _coerce(name, key, known[key].type, value)
    missing = [k for k in getattr(cls, "required", ()) if not kwargs.get(k)]
    if missing:
        env = ", ".join(f"BATON_{name.upper()}_{k.upper()}" for k in missing)
        raise CredentialsError(f"credentials: the {name} channel needs {', '.join(missing)} (in the credentials "
                               f"file's `{name}:` section, or {env})")
    return cls(**kwargs)


def read_file(path: Path) -> Dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise CredentialsError(f"{path}: expected a mapping of channels, got {type(loaded).__name__}")
    return loaded


def load(path: Optional[Path] = None, environ: Optional[Mapping[str, str]] = None) -> ChannelCredentials:
    """Read the credentials file (when present) and BATON_<SECTION>_<KEY> overrides."""
    environ = os.environ if environ is None else environ
    if path is None:
        named = environ.get("BATON_CREDENTIALS")
        path = Path(named) if named else Path(DEFAULT_FILE)
        if named and not path.is_file():
            raise CredentialsError(f"BATON_CREDENTIALS names {path}, which is not a file")
    raw = read_file(path) if path.is_file() else {}

    sections: Dict[str, Dict[str, Any]] = {}
    for name, values in raw.items():
        if name not in SECTIONS:
            log.info("credentials: no Baton channel for the %r section; skipped", name)
            continue
        if values is not None and not isinstance(values, dict):
            raise CredentialsError(f"credentials: the {name} section must be a mapping of keys")
        sections[name] = {_key(k): _expand(v, environ) for k, v in (values or {}).items()}
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            value = environ.get(f"BATON_{name.upper()}_{f.name.upper()}")
            if value is not None:
                sections.setdefault(name, {})[f.name] = value

    whatsapp_on_twilio_path = False
    twilio = sections.get("twilio")
    if twilio and str(twilio.get("twilio_number", "")).startswith("whatsapp:") and "whatsapp" not in sections:
        # Rasa speaks WhatsApp through its twilio connector with a whatsapp: number.
        sections["whatsapp"] = sections.pop("twilio")
        whatsapp_on_twilio_path = True

    built = {name: _section(SECTIONS[name], name, values) for name, values in sections.items()}
    for name in ("twilio", "whatsapp"):
        creds = built.get(name)
        if creds is not None and not (creds.twilio_number or creds.messaging_service_sid):
            raise CredentialsError(f"credentials: the {name} channel needs twilio_number or messaging_service_sid")
        if creds is not None and creds.is_whatsapp != (name == "whatsapp") and creds.twilio_number:
            raise CredentialsError(f"credentials: {name}.twilio_number {'must' if name == 'whatsapp' else 'must not'} "
                                   "start with 'whatsapp:'")
    return ChannelCredentials(whatsapp_on_twilio_path=whatsapp_on_twilio_path, **built)
