"""What Baton accepts at its edges: strict JSON, storable text, real client addresses, verified identity."""

from __future__ import annotations

import json

import pytest

from bot import jsonsafe
from bot.channels.inbound_validation import BadInput, clean_metadata, clean_text
from bot.client_address import client_address, parse_networks
from bot.identity import IdentityVerifier, sign_customer_id, without_identity
from bot.text_rules import text_problem


@pytest.mark.parametrize("raw,code", [
    ('{"a": NaN}', "malformed_json"), ('{"a": Infinity}', "malformed_json"), ('[-Infinity]', "malformed_json"),
    ("[" * 100 + "]" * 100, "malformed_json"), ('{"n": ' + "9" * 5000 + "}", "malformed_json"),
    ('{"n": 1e999}', "malformed_json"), (b'{"a": "caf\xe9"}', "invalid_utf8"), ("{'a': 1}", "malformed_json"),
])
def test_json_that_baton_refuses(raw, code):
    with pytest.raises(jsonsafe.BadJson) as refused:
        jsonsafe.loads(raw)
    assert refused.value.code == code and str(refused.value)


def test_json_baton_accepts_and_writes():
    assert jsonsafe.loads('{"a": [1, 2.5, "x", null, true], "b": {"c": "[{"}}') == {
        "a": [1, 2.5, "x", None, True], "b": {"c": "[{"}}
    assert jsonsafe.loads('"\\ud83d\\ude00"') == "😀"
    written = jsonsafe.dumps({"ok": float("nan"), "list": [float("inf"), 1]})
    assert json.loads(written, parse_constant=lambda c: pytest.fail(c)) == {"ok": None, "list": [None, 1]}
    assert jsonsafe.find_problem({"a": [float("nan")]}) and jsonsafe.find_problem({"a": "\ud800"})
    assert jsonsafe.find_problem({"a": [1, "ok", {"b": None}]}) is None


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfff"])
def test_text_that_cannot_be_stored_is_named(text):
    assert text_problem(text)
    with pytest.raises(BadInput) as refused:
        clean_text(text, 100)
    assert refused.value.code == "bad_message"


def test_metadata_is_flat_small_and_storable():
    assert clean_metadata({"page": "/x", "n": 3, "nested": {"a": 1}, "k" * 61: "dropped"}) == {"page": "/x", "n": 3}
    for bad in ({"x": float("nan")}, {"x": 2 ** 70}, {"x": "a\x00"}, "page=/x"):
        with pytest.raises(BadInput) as refused:
            clean_metadata(bad)
        assert refused.value.code == "bad_metadata"


def test_forwarded_addresses_are_believed_only_from_trusted_proxies():
    proxies = parse_networks(["10.0.0.0/8", "127.0.0.1/32"])
    assert client_address("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"      # not a proxy: ignored
    assert client_address("127.0.0.1", "1.2.3.4", []) == "127.0.0.1"               # no proxies configured
    assert client_address("127.0.0.1", "1.2.3.4", proxies) == "1.2.3.4"
    # The client can write anything at the left; only hops our proxies appended count.
    assert client_address("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.0.0.4", proxies) == "198.51.100.7"
    assert client_address("10.0.0.5", "not-an-ip", proxies) == "10.0.0.5"
    assert client_address(None, None, proxies) == "unknown"


def test_a_signed_customer_id_is_verified_and_nothing_else_is():
    verifier = IdentityVerifier("shop-secret")
    signature = sign_customer_id("shop-secret", "C-7")
    claims = verifier.claims({"customer_id": "C-7", "customer_hash": signature, "customer_email": "x@example.com"})
    assert claims.id_verified and not claims.verified and claims.email == "x@example.com"
    assert not verifier.claims({"customer_id": "C-8", "customer_hash": signature}).id_verified
    assert not verifier.claims({"customer_id": "C-7", "customer_hash": "00" * 32}).id_verified
    assert not IdentityVerifier(None).claims({"customer_id": "C-7", "customer_hash": signature}).id_verified
    assert verifier.claims({"email": "y@example.com"}, trusted_caller=True).verified
    assert without_identity({"customer_hash": "x", "customer_email": "e", "page": "/p"}) == {"page": "/p"}
