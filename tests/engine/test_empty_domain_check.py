"""The cached empty-domain check answers as Rasa's own does."""

from rasa.shared.core.domain import Domain

from bot import empty_domain_check


def test_empty_and_non_empty_domains():
    original = Domain.is_empty
    domains = [Domain.empty(), Domain.from_dict({}), Domain.from_dict({"intents": ["greet"]}),
               Domain.from_dict({"responses": {"utter_hi": [{"text": "hi"}]}}),
               Domain.from_dict({"slots": {"email": {"type": "text", "mappings": [{"type": "custom"}]}}})]
    expected = [original(d) for d in domains]
    assert expected == [True, True, False, False, False]
    empty_domain_check.install()
    assert [d.is_empty() for d in domains] == expected
