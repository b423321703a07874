from bot.domain import HandoffReason, NluParse, Verdict
from bot.engine import BotCrashed, BotTimeout, BotUnavailable
from bot.handoff import HandoffPolicy, PolicyConfig


def parse(intent, confidence, second=None, text="text"):
    ranking = [{"name": intent, "confidence": confidence}]
    if second:
        ranking.append({"name": second[0], "confidence": second[1]})
    return NluParse(text=text, intent=intent, confidence=confidence, ranking=ranking)


policy = HandoffPolicy(PolicyConfig(confidence_threshold=0.55, ambiguity_margin=0.1, max_consecutive_misses=2,
                                    business_rule_keywords=("chargeback",)))


def test_confident_message_is_answered():
    assert policy.decide(parse("greet", 0.95, ("goodbye", 0.02)), 0).verdict is Verdict.ANSWER


def test_low_confidence_asks_to_rephrase_then_hands_off():
    first = policy.decide(parse("greet", 0.3), 0)
    assert first.verdict is Verdict.REPHRASE and first.reason is HandoffReason.LOW_CONFIDENCE
    second = policy.decide(parse("greet", 0.3), 1)
    assert second.verdict is Verdict.HANDOFF and second.reason is HandoffReason.REPEATED_FALLBACK
    assert "2 misses" in second.detail


def test_nlu_fallback_is_a_miss():
    decision = policy.decide(parse("nlu_fallback", 0.7, ("greet", 0.2)), 0)
    assert decision.verdict is Verdict.REPHRASE and "fell back" in decision.detail


def test_ambiguity_is_a_miss():
    decision = policy.decide(parse("order_status", 0.62, ("track_shipment", 0.58)), 0)
    assert decision.verdict is Verdict.REPHRASE and decision.reason is HandoffReason.AMBIGUOUS


def test_request_for_a_human_and_always_human_intents_hand_off_at_once():
    human = policy.decide(parse("request_human", 0.4), 0)
    assert human.hands_off and human.reason is HandoffReason.HUMAN_REQUESTED and human.priority == 1
    complaint = policy.decide(parse("complaint", 0.9), 0)
    assert complaint.hands_off and complaint.reason is HandoffReason.ALWAYS_HUMAN_INTENT and complaint.priority == 2


def test_business_rule_keyword_hands_off():
    decision = policy.decide(parse("payment_failed", 0.99, text="I will file a CHARGEBACK"), 0)
    assert decision.hands_off and decision.reason is HandoffReason.BUSINESS_RULE


def test_failures_become_handoffs_with_their_reason():
    assert policy.on_failure(BotTimeout("slow")).reason is HandoffReason.BOT_TIMEOUT
    assert policy.on_failure(BotUnavailable("no model")).reason is HandoffReason.BOT_UNAVAILABLE
    assert policy.on_failure(BotCrashed("boom")).reason is HandoffReason.BOT_ERROR


def test_an_empty_bot_reply_is_a_miss():
    assert policy.after_empty_reply(0).verdict is Verdict.REPHRASE
    assert policy.after_empty_reply(1).reason is HandoffReason.REPEATED_FALLBACK


def test_one_miss_configuration_hands_off_with_the_direct_reason():
    strict = HandoffPolicy(PolicyConfig(max_consecutive_misses=1))
    decision = strict.decide(parse("greet", 0.1), 0)
    assert decision.hands_off and decision.reason is HandoffReason.LOW_CONFIDENCE
