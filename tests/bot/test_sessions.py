from bot.sessions import SessionSigner


def test_issued_ids_verify_and_are_unique():
    signer = SessionSigner("secret", 3600)
    a, b = signer.issue(), signer.issue()
    assert a != b and signer.verify(a) and signer.verify(a) != signer.verify(b)


def test_forged_altered_and_foreign_ids_are_refused():
    signer = SessionSigner("secret", 3600)
    token = signer.issue()
    issued, rand, sig = token.split(".")
    assert signer.verify(f"{issued}.{rand}x.{sig}") is None
    other_last = "B" if sig.endswith("A") else "A"
    assert signer.verify(f"{issued}.{rand}.{sig[:-1]}{other_last}") is None
    assert signer.verify(f"{issued[:-1]}{'0' if issued[-1] != '0' else '1'}.{rand}.{sig}") is None
    assert signer.verify("made-up") is None and signer.verify(None) is None and signer.verify(42) is None
    assert SessionSigner("other-secret", 3600).verify(token) is None


def test_expired_ids_are_refused():
    signer = SessionSigner("secret", 60)
    token = signer.issue(now=1_000_000)
    assert signer.verify(token, now=1_000_030) is not None
    assert signer.verify(token, now=1_000_061) is None
