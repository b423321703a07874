from dataclasses import replace

from bot.domain import AwaitedSlot, HandoffReason, NluParse, Verdict
from bot.engine import BotCrashed, BotTimeout, BotUnavailable
from bot.evaluation.replay import acted_on
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


# ---- the bot's own question, and several requests in one message ------------------------------

ORDER_NUMBER = AwaitedSlot("order_form", "order_id", ("order_id",))


def with_entity(intent, confidence, entity, value, text):
    p = parse(intent, confidence, text=text)
    return replace(p, entities=[{"entity": entity, "value": value, "start": 0, "end": len(value)}])


def test_a_bare_answer_to_the_bots_question_is_answered_whatever_its_intent():
    answer = with_entity("affirm", 0.21, "order_id", "12345", "12345")
    assert policy.decide(answer, 0).verdict is Verdict.REPHRASE   # out of the blue, "12345" means nothing
    decision = policy.decide(answer, 1, awaiting=ORDER_NUMBER)      # …after "What's your order number?" it answers
    assert decision.verdict is Verdict.ANSWER and decision.answers_slot == "order_id"
    assert "order_id" in decision.detail


def test_only_the_awaited_entity_answers_the_question():
    email = with_entity("affirm", 0.21, "email", "jane@example.com", "jane@example.com")
    assert policy.decide(email, 0, awaiting=ORDER_NUMBER).verdict is Verdict.REPHRASE
    asked_email = AwaitedSlot("order_form", "email", ("email",))
    assert policy.decide(email, 0, awaiting=asked_email).answers_slot == "email"
    no_entity = parse("affirm", 0.2, text="hmm not sure")
    assert policy.decide(no_entity, 0, awaiting=ORDER_NUMBER).verdict is Verdict.REPHRASE


def test_asking_for_a_person_still_wins_over_answering_the_question():
    message = with_entity("request_human", 0.9, "order_id", "12345", "agent please, order 12345")
    assert policy.decide(message, 0, awaiting=ORDER_NUMBER).reason is HandoffReason.HUMAN_REQUESTED


def part(intent, confidence, text="a request of its own"):
    return parse(intent, confidence, text=text)


def test_two_confident_requests_of_different_kinds_hand_off():
    whole = parse("order_status", 0.8, text="where is my order and how do I reset my password")
    parts = [part("order_status", 0.95), part("reset_password", 0.82)]
    decision = policy.decide(whole, 0, parts=parts)
    assert decision.hands_off and decision.reason is HandoffReason.MULTIPLE_REQUESTS
    assert "order_status 0.95" in decision.detail and "reset_password 0.82" in decision.detail


def test_social_unsure_out_of_scope_and_related_parts_are_one_request():
    related = HandoffPolicy(PolicyConfig(confidence_threshold=0.55, ambiguity_margin=0.1,
                                         related_intents=(("return_policy", "start_return", "refund_status"),)))
    whole = parse("start_return", 0.9)
    for parts in ([part("greet", 0.99), part("order_status", 0.9)],          # "hi, and where is my order"
                  [part("order_status", 0.9), part("reset_password", 0.4)],  # the second part is unsure
                  [part("order_status", 0.9), part("out_of_scope", 0.97)],
                  [part("order_status", 0.9), part("nlu_fallback", 0.9)],
                  [part("order_status", 0.9), part("order_status", 0.8)]):
        assert policy.decide(whole, 0, parts=parts).verdict is Verdict.ANSWER, parts
    return_and_refund = [part("start_return", 0.9), part("refund_status", 0.9)]
    assert related.decide(whole, 0, parts=return_and_refund).verdict is Verdict.ANSWER
    assert policy.decide(whole, 0, parts=return_and_refund).reason is HandoffReason.MULTIPLE_REQUESTS


def test_the_replay_of_the_evaluation_is_unchanged_without_awaiting_or_parts():
    assert acted_on(policy, parse("order_status", 0.9)) == "order_status"
    assert acted_on(policy, with_entity("affirm", 0.2, "order_id", "12345", "12345")) is None


def test_a_part_that_only_gives_a_detail_is_not_a_request():
    whole = parse("start_return", 0.9, text="my sweater has a hole. I want to send it back. Order 30981.")
    detail = with_entity("order_status", 0.95, "order_id", "30981", "Order 30981")
    detail = replace(detail, entities=[{"entity": "order_id", "value": "30981", "start": 6, "end": 11}])
    parts = [part("start_return", 0.99), detail]
    assert policy.decide(whole, 0, parts=[part("start_return", 0.99), part("order_status", 0.95)]).hands_off
    assert policy.decide(whole, 0, parts=parts).verdict is Verdict.ANSWER
