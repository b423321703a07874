"""One typed settings object, read from defaults < config file < environment < CLI flags."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from pydantic import BaseSettings, Field, validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _config_file_source(settings: BaseSettings) -> Dict[str, Any]:
    """Reads `baton.yml` (or the file named by BATON_CONFIG) when present."""
    path = Path(os.environ.get("BATON_CONFIG", "baton.yml"))
    if not path.is_file():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
    return loaded


class Settings(BaseSettings):
    """Everything Baton can be told. Every field has a default that runs."""

    # Where things live
    database_url: str = "sqlite+aiosqlite:///baton.db"
    # PostgreSQL connections per process, opened as needed and then kept; a transaction waits when
    # all are busy. Every worker of `baton serve --workers N` has its own pool (N × this must stay
    # below the server's max_connections, 100 by default).
    database_pool_size: int = Field(30, ge=1, le=1000)
    model_path: Path = PROJECT_ROOT / "models" / "baton.tar.gz"
    models_dir: Path = PROJECT_ROOT / "models" / "versions"   # where the workbench keeps trained versions
    # The fixed test set every trained model is evaluated on (out-of-scope messages included).
    evaluation_test_file: Path = PROJECT_ROOT / "benchmarks" / "nlu" / "store_test.yml"
    data_dir: Path = PROJECT_ROOT / "data"
    host: str = "127.0.0.1"
    port: int = 5005
    public_url: Optional[str] = None  # how browsers reach Baton, e.g. https://baton.example.com

    # Security
    secret_key: str = Field(default_factory=lambda: secrets.token_hex(32))
    admin_token: Optional[str] = None
    rest_token: Optional[str] = None
    rest_callback_url: Optional[str] = None
    session_lifetime_days: int = 30
    allowed_origins: List[str] = Field(default_factory=lambda: ["*"])
    console_origins: List[str] = Field(default_factory=list)
    secure_cookies: bool = False

    # Handoff policy. These two apply when set explicitly, or when there is no learned
    # thresholds file (handoff_thresholds_path below, written by `baton evaluate`).
    confidence_threshold: float = 0.90
    ambiguity_margin: float = 0.10
    max_consecutive_misses: int = 2
    always_human_intents: List[str] = Field(default_factory=lambda: ["complaint"])
    human_request_intents: List[str] = Field(default_factory=lambda: ["request_human"])
    business_rule_keywords: List[str] = Field(default_factory=lambda: ["chargeback", "lawyer", "legal action"])
    review_margin: float = 0.10   # answers below threshold + this margin also go to the trainers' inbox
    # One message with several requests ("where is my order and how do I reset my password") is handed
    # off (multiple_requests) unless its parts are social or of one group of related intents.
    social_intents: List[str] = Field(default_factory=lambda: [
        "greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge"])
    related_intents: List[List[str]] = Field(default_factory=lambda: [
        ["order_status", "track_shipment", "delivery_time", "shipping_cost"],
        ["return_policy", "start_return", "refund_status"],
        ["payment_methods", "payment_failed", "promo_code"],
        ["reset_password", "update_account"],
        ["product_availability", "size_guide"],
        ["opening_hours", "contact_info"],
    ])
    # Per-intent thresholds learned by `baton evaluate` (for a wrong-answer rate the operator
    # sets); when this file exists it replaces the two values above unless they are set
    # explicitly (baton.yml, BATON_CONFIDENCE_THRESHOLD, BATON_AMBIGUITY_MARGIN).
    handoff_thresholds_path: Optional[Path] = PROJECT_ROOT / "data" / "handoff_thresholds.yml"
    bot_timeout_seconds: float = 10.0
    # While the model loads at start-up, customer messages wait up to this long for it,
    # and are handed to a person (bot_unavailable) only past it.
    model_wait_seconds: float = 90.0
    # After a restart, turns a crash cut short are finished once no other worker can still be on them.
    turn_recovery_grace_seconds: float = 50.0

    # Input limits
    max_message_chars: int = 4000
    max_body_bytes: int = 64 * 1024
    customer_messages_per_minute: int = 30
    new_sessions_per_minute_per_ip: int = 20
    rest_messages_per_minute_per_sender: int = 60
    rest_requests_per_minute_per_address: int = 600
    login_failures_per_account: int = 5          # per 15 minutes, then 429 with Retry-After
    login_attempts_per_minute_per_address: int = 20
    # Proxies (addresses or CIDRs) whose X-Forwarded-For is believed, e.g. "10.0.0.0/8".
    trusted_proxies: List[str] = Field(default_factory=list)
    # Shared with the shop's backend: HMAC-SHA256(secret, customer_id) verifies a customer's identity.
    identity_secret: Optional[str] = None

    # Outbound delivery (agent replies and notices to customers' channels)
    delivery_max_attempts: int = 8
    delivery_base_delay_seconds: float = 1.0   # the first retry's wait; doubled each try, at most 5 min

    # Provider channels (Twilio, WhatsApp, Telegram, Messenger, Instagram, e-mail): their credentials
    # file, Rasa's credentials.yml format (default: credentials.yml in the working directory).
    credentials: Optional[Path] = None

    # Custom actions (rasa-sdk Actions, run in-process: bot/custom_actions.py) and the CRM they read.
    # An action that takes longer than action_timeout_seconds, or a CRM slower than crm_timeout_seconds,
    # hands the conversation to a person (bot_error); both stay below bot_timeout_seconds.
    actions_packages: List[str] = Field(default_factory=lambda: ["bot.actions"])
    action_timeout_seconds: float = 4.0
    crm_timeout_seconds: float = 3.0

    # The customer's wait (bot/waiting). Business hours as {"mon": "09:00-17:00", …} in
    # business_timezone; none means always open. Outside them, or with nobody online, customers are
    # told so and offered to leave a message; so are customers who waited max_wait_seconds.
    business_hours: Dict[str, str] = Field(default_factory=dict)
    business_timezone: str = "UTC"
    max_wait_seconds: float = 600.0
    wait_notice_interval_seconds: float = 180.0   # "still waiting" notices on SMS, e-mail…: at most this often
    wait_check_seconds: float = 15.0              # how often long waits and agents' availability are looked at
    wait_estimate_samples: int = 20               # estimates come from the latest claims…
    wait_estimate_window_hours: float = 24.0      # …within this window

    # Tags set by rules: an intent the bot recognises tags the conversation, e.g. {"complaint": "complaint"}.
    tag_rules: Dict[str, str] = Field(default_factory=dict)

    # Console
    auto_assign: bool = False
    crm_url: Optional[str] = None
    redis_url: Optional[str] = None
    redis_channel: str = "baton"  # one per deployment when several share a Redis

    # Worker processes on this machine, on one port (`baton serve --workers N`; needs redis_url).
    workers: int = Field(1, ge=1, le=64)
    # Set by `baton serve --workers` for its workers: where they share per-customer and SQLite locks.
    worker_lock_dir: Optional[Path] = None

    class Config:
        env_prefix = "BATON_"

        @classmethod
        def customise_sources(cls, init_settings, env_settings, file_secret_settings):
            return init_settings, env_settings, _config_file_source

        @classmethod
        def parse_env_var(cls, field_name: str, raw_val: str) -> Any:
            # Lists read naturally from the environment: "a,b" as well as JSON.
            if field_name in {"allowed_origins", "console_origins", "always_human_intents", "trusted_proxies",
                              "human_request_intents", "business_rule_keywords", "social_intents",
                              "actions_packages"} and not raw_val.startswith("["):
                return [part.strip() for part in raw_val.split(",") if part.strip()]
            return cls.json_loads(raw_val)

    @validator("confidence_threshold", "ambiguity_margin")
    def _unit_interval(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError("must be between 0 and 1")
        return value

    @validator("action_timeout_seconds")
    def _action_before_bot_timeout(cls, value: float, values: Dict[str, Any]) -> float:
        bot = values.get("bot_timeout_seconds")
        if value <= 0 or (bot is not None and value >= bot):
            raise ValueError(f"must be above 0 and below bot_timeout_seconds ({bot}): a slow action must end "
                             "the turn as bot_error before the bot's own timeout does")
        return value

    @validator("crm_timeout_seconds")
    def _crm_before_action_timeout(cls, value: float, values: Dict[str, Any]) -> float:
        action = values.get("action_timeout_seconds")
        if value <= 0 or (action is not None and value >= action):
            raise ValueError(f"must be above 0 and below action_timeout_seconds ({action})")
        return value

    @validator("max_consecutive_misses")
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @validator("business_hours")
    def _hours(cls, value: Dict[str, str], values: Dict[str, Any]) -> Dict[str, str]:
        from bot.waiting.hours import BusinessHours, HoursError

        try:
            BusinessHours.parse(value)
        except HoursError as exc:
            raise ValueError(str(exc))
        return value

    @validator("tag_rules")
    def _tag_rules(cls, value: Dict[str, str]) -> Dict[str, str]:
        from bot.tagging import TagError, clean_rules

        try:
            return clean_rules(value)
        except TagError as exc:
            raise ValueError(exc.message)

    @validator("business_timezone")
    def _zone(cls, value: str) -> str:
        from bot.waiting.hours import BusinessHours, HoursError

        try:
            BusinessHours.parse({}, value)
        except HoursError as exc:
            raise ValueError(str(exc))
        return value

    @validator("max_wait_seconds", "wait_notice_interval_seconds", "wait_check_seconds")
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0 seconds")
        return value

    @property
    def own_origins(self) -> List[str]:
        """Baton's own origins: its pages may always use the customer channel and the console."""
        if self.public_url:
            return [self.public_url.rstrip("/")]
        hosts = {self.host, "127.0.0.1", "localhost"} - {"0.0.0.0", "::"}
        return [f"http://{h}:{self.port}" for h in sorted(hosts)]

    @validator("trusted_proxies")
    def _networks(cls, value: List[str]) -> List[str]:
        from bot.client_address import parse_networks

        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"not an address or network: {exc}")
        return value

    @property
    def trusted_proxy_networks(self):
        from bot.client_address import parse_networks

        return parse_networks(self.trusted_proxies)

    @property
    def console_allowed_origins(self) -> List[str]:
        """Origins the console API and /agents accept: Baton's own pages and configured ones, exactly."""
        return list(dict.fromkeys([*self.own_origins, *self.console_origins]))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
