"""The arithmetic of the three figures, checked on a case worked out by hand."""

import pytest

from bot.domain import NluParse
from bot.evaluation.metrics import Figures, Handled, at_automation, figures, per_intent
from bot.evaluation.replay import acted_on
from bot.handoff import HandoffPolicy, PolicyConfig

ROUTED = ("request_human", "complaint")

# Ten messages, five in scope and five out of scope:
CASE = [
    Handled("order_status", "order_status"),   # right answer
    Handled("order_status", "track_shipment"),  # wrong answer
    Handled("refund_status", None),             # deferred (rephrase / handoff): neither
    Handled("request_human", "request_human"),  # routed to a person by the right intent: right
    Handled("greet", "out_of_scope"),           # told "I can't help": not right, not a wrong answer
    Handled("out_of_scope", None),              # deferred: caught
    Handled("out_of_scope", "out_of_scope"),    # out-of-scope reply: caught
    Handled("out_of_scope", "complaint"),       # routed to a person: caught, not an answer
    Handled("out_of_scope", "greet"),           # answered: a wrong answer
    Handled("out_of_scope", None),              # caught
]


def test_the_three_figures_of_a_hand_made_case():
    f = figures(CASE, ROUTED)
    assert (f.in_scope, f.out_of_scope, f.right, f.wrong, f.oos_caught) == (5, 5, 2, 2, 4)
    assert f.automation == pytest.approx(2 / 5)      # in-scope messages handled with the right intent
    assert f.wrong_answer == pytest.approx(2 / 10)   # of ALL messages, out-of-scope ones included
    assert f.oos_recall == pytest.approx(4 / 5)


def test_routing_to_a_person_is_only_an_answer_when_the_intent_is_not_routed():
    # Without routed intents, answering an out-of-scope message as "complaint" is a wrong answer.
    assert figures(CASE, routed_intents=()).wrong == 3


def test_per_intent_rows_split_the_same_counts():
    rows = {r.intent: r for r in per_intent(CASE, ROUTED)}
    assert (rows["order_status"].messages, rows["order_status"].right, rows["order_status"].wrong) == (2, 1, 1)
    assert rows["track_shipment"].answered_wrongly_as == 1 and rows["track_shipment"].messages == 0
    assert rows["greet"].answered_wrongly_as == 1 and rows["greet"].right == 0 and rows["greet"].wrong == 0
    assert (rows["out_of_scope"].messages, rows["out_of_scope"].right, rows["out_of_scope"].wrong) == (5, 4, 1)
    assert sum(r.wrong for r in rows.values()) == figures(CASE, ROUTED).wrong


def test_empty_inputs_give_zero_rates_not_errors():
    f = figures([], ROUTED)
    assert (f.automation, f.wrong_answer, f.oos_recall) == (0.0, 0.0, 0.0)


def test_reading_a_curve_at_a_given_automation():
    curve = [(0.5, Figures(10, 10, 9, 3, 7)), (0.7, Figures(10, 10, 8, 1, 9)), (0.9, Figures(10, 10, 5, 0, 10))]
    assert at_automation(curve, 0.8) == curve[1][1]     # the least wrong point still at >= 80%
    assert at_automation(curve, 0.95) is None


def parse(intent, confidence, second=("greet", 0.0), text="text"):
    return NluParse(text, intent, confidence, [{"name": intent, "confidence": confidence},
                                               {"name": second[0], "confidence": second[1]}])


def test_replay_reduces_the_live_policy_to_the_intent_acted_on():
    policy = HandoffPolicy(PolicyConfig(confidence_threshold=0.6, ambiguity_margin=0.1,
                                        business_rule_keywords=("lawyer",)))
    assert acted_on(policy, parse("order_status", 0.9)) == "order_status"           # answered
    assert acted_on(policy, parse("order_status", 0.5)) is None                     # below threshold
    assert acted_on(policy, parse("order_status", 0.65, ("track_shipment", 0.6))) is None  # ambiguous
    assert acted_on(policy, parse("request_human", 0.2)) == "request_human"         # routed by rule
    assert acted_on(policy, parse("complaint", 0.9)) == "complaint"
    assert acted_on(policy, parse("out_of_scope", 0.9)) is None                     # a miss, never an answer
    assert acted_on(policy, parse("order_status", 0.99, text="my lawyer asks")) is None  # business rule
    assert acted_on(policy, parse("nlu_fallback", 0.3)) is None


def test_a_baseline_on_fewer_seeds_is_compared_on_its_own_seeds_and_the_gap_is_said():
    from bot.evaluation.evaluate import _results_section
    from bot.evaluation.protocol import Measurement

    def run(system, seed, right, wrong, compute=60.0, cpu=0.0):
        f = Figures(in_scope=100, out_of_scope=50, right=right, wrong=wrong, oos_caught=40)
        return Measurement(system, f"banking77 seed {seed}", PolicyConfig(confidence_threshold=0.9,
                           ambiguity_margin=0.0), f, [], [(0.5, f)], 1.0, 10.0, 20.0, None, [], compute, cpu)

    store = [run("Baton", 0, 90, 2)]
    banking = {"Baton": [run("Baton", 1, 70, 3), run("Baton", 2, 60, 3), run("Baton", 3, 80, 3)],
               "Rasa baseline": [run("Rasa baseline", 1, 75, 9, compute=7200.0, cpu=5400.0)]}
    text = _results_section(store, banking, {"compute_seconds": 600, "config": "config.yml"})
    assert "| Baton | 1, 2, 3 | 70.0% |" in text                       # all of Baton's seeds
    assert "| Baton, the baseline's seeds only | 1 | 70.0% | 2.0% |" in text   # like with like
    assert "| Rasa baseline | 1 | 75.0% | 6.0% |" in text
    assert "not run on seed 2, 3" in text and "2.0 hours" in text and "1.5 CPU-hours" in text
    # A run told to skip the baseline on Banking77 says so instead of leaving it out silently.
    banking.pop("Rasa baseline")
    text = _results_section(store + [run("Rasa baseline", 0, 90, 9)], banking,
                            {"compute_seconds": 600, "config": "config.yml"})
    assert "The baseline was not run on Banking77 in this run" in text and "| Rasa baseline |" in text
    text = _results_section(store + [run("Rasa baseline", 0, 90, 9)], banking,
                            {"compute_seconds": 600, "config": "config.yml", "banking77_seeds": [1, 2, 3],
                             "banking77_baseline_seeds": []})
    assert "This run trains and parses for about 10 min" in text
    assert "plus the baseline on Banking77 seed 1, 2, 3" in text
