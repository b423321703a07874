import pytest
from pydantic import ValidationError

from bot.settings import Settings


def test_environment_and_config_file_are_read(tmp_path, monkeypatch):
    config = tmp_path / "baton.yml"
    config.write_text("confidence_threshold: 0.7\nport: 6000\n")
    monkeypatch.setenv("BATON_CONFIG", str(config))
    monkeypatch.setenv("BATON_PORT", "7000")
    monkeypatch.setenv("BATON_ALLOWED_ORIGINS", "https://shop.example, https://www.shop.example")
    settings = Settings()
    assert settings.confidence_threshold == 0.7          # from the file
    assert settings.port == 7000                          # environment beats the file
    assert settings.allowed_origins == ["https://shop.example", "https://www.shop.example"]


def test_bad_thresholds_are_refused(monkeypatch):
    monkeypatch.setenv("BATON_CONFIDENCE_THRESHOLD", "1.5")
    with pytest.raises(ValidationError):
        Settings()
