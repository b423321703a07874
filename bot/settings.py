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
    model_path: Path = PROJECT_ROOT / "models" / "baton.tar.gz"
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
    # Per-intent thresholds learned by `baton evaluate` (for a wrong-answer rate the operator
    # sets); when this file exists it replaces the two values above unless they are set
    # explicitly (baton.yml, BATON_CONFIDENCE_THRESHOLD, BATON_AMBIGUITY_MARGIN).
    handoff_thresholds_path: Optional[Path] = PROJECT_ROOT / "data" / "handoff_thresholds.yml"
    bot_timeout_seconds: float = 10.0
    model_load_timeout_seconds: float = 120.0

    # Input limits
    max_message_chars: int = 4000
    max_body_bytes: int = 64 * 1024
    customer_messages_per_minute: int = 30
    new_sessions_per_minute_per_ip: int = 20

    # Console
    auto_assign: bool = False
    default_agent_capacity: int = 5
    crm_url: Optional[str] = None
    redis_url: Optional[str] = None
    redis_channel: str = "baton"  # one per deployment when several share a Redis

    class Config:
        env_prefix = "BATON_"

        @classmethod
        def customise_sources(cls, init_settings, env_settings, file_secret_settings):
            return init_settings, env_settings, _config_file_source

        @classmethod
        def parse_env_var(cls, field_name: str, raw_val: str) -> Any:
            # Lists read naturally from the environment: "a,b" as well as JSON.
            if field_name in {"allowed_origins", "console_origins", "always_human_intents",
                              "human_request_intents", "business_rule_keywords"} and not raw_val.startswith("["):
                return [part.strip() for part in raw_val.split(",") if part.strip()]
            return cls.json_loads(raw_val)

    @validator("confidence_threshold", "ambiguity_margin")
    def _unit_interval(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError("must be between 0 and 1")
        return value

    @validator("max_consecutive_misses")
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @property
    def own_origins(self) -> List[str]:
        """Baton's own origins: its pages may always use the customer channel and the console."""
        if self.public_url:
            return [self.public_url.rstrip("/")]
        hosts = {self.host, "127.0.0.1", "localhost"} - {"0.0.0.0", "::"}
        return [f"http://{h}:{self.port}" for h in sorted(hosts)]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
