"""Password policy, login throttling and request schemas: the console's rules, without a server."""

from __future__ import annotations

import pytest

from agent_console.login_throttle import LoginThrottle
from agent_console.password_policy import password_problem
from agent_console.schemas import BadRequest, NewUserBody, TransferBody, parse, path_id


@pytest.mark.parametrize("password,why", [
    ("short-pass", "at least 12"), ("password1234", "too common"), ("Password123!", "too common"),
    ("qwertyuiopas", "pattern"), ("aaaaaaaaaaaaaa", "pattern"), ("123456789012", "too common"),
    ("abcdefghijklm", "pattern"), ("sam-is-the-best-agent", "username"),
])
def test_weak_passwords_are_refused_with_a_reason(password, why):
    problem = password_problem(password, "sam")
    assert problem and why in problem


def test_a_long_uncommon_password_is_fine():
    assert password_problem("purple-kettle-on-the-stairs", "sam") is None


@pytest.mark.parametrize("password", ["pw-130948272651", "xy-000000000017", "ab!9f0e1d2c3b4a5"])
def test_random_characters_behind_a_short_prefix_are_not_a_pattern(password):
    """The decoration rule looks under 'Password123!'; a short prefix is not the password's core."""
    assert password_problem(password, "sam") is None


def test_logins_are_throttled_per_account_and_per_address():
    throttle = LoginThrottle(failures_per_account=3, attempts_per_address=5)
    for _ in range(3):
        assert throttle.check("ada", "1.1.1.1") is None
        throttle.failed("ada")
    blocked = throttle.check("ADA ", "2.2.2.2")      # another address, same account
    assert blocked and blocked.retry_after > 0 and "account" in blocked.reason
    assert throttle.check("grace", "1.1.1.1") is None
    assert throttle.check("grace", "1.1.1.1") is None
    flood = throttle.check("linus", "1.1.1.1")       # the sixth attempt from one address
    assert flood and "address" in flood.reason
    throttle.succeeded("ada")
    assert throttle.check("ada", "3.3.3.3") is None


@pytest.mark.parametrize("model,data,where", [
    (TransferBody, {"agent_id": "abc"}, "agent_id"), (TransferBody, {"agent_id": 2 ** 64}, "agent_id"),
    (TransferBody, {"agent_id": True}, "agent_id"), (TransferBody, {}, "agent_id"),
    (NewUserBody, {"username": "x", "password": "y", "role": "agent", "capacity": [1]}, "capacity"),
    (NewUserBody, {"username": "x", "password": "y", "role": "boss"}, "role"),
    (NewUserBody, {"username": "x\x00", "password": "y", "role": "agent"}, "username"),
])
def test_bodies_are_checked_against_their_schema(model, data, where):
    with pytest.raises(BadRequest) as refused:
        parse(model, data)
    assert refused.value.status == 422 and where in refused.value.message


def test_ids_in_urls_are_positive_64_bit_integers():
    assert path_id("42") == 42
    for bad in ("0", "-1", "abc", "9" * 30, str(2 ** 63), "1e3", "４２"):
        with pytest.raises(BadRequest) as refused:
            path_id(bad)
        assert refused.value.status == 404
    with pytest.raises(BadRequest) as refused:
        parse(TransferBody, [1, 2])
    assert refused.value.status == 400
