import pytest

from bot.domain import ConversationStatus as S
from bot.state_machine import InvalidTransition, Transition as T, human_owns, next_status


@pytest.mark.parametrize("current,transition,expected", [
    (S.BOT, T.HANDOFF, S.QUEUED), (S.QUEUED, T.CLAIM, S.ASSIGNED), (S.ASSIGNED, T.TRANSFER, S.ASSIGNED),
    (S.ASSIGNED, T.HAND_BACK, S.BOT), (S.QUEUED, T.HAND_BACK, S.BOT), (S.ASSIGNED, T.RESOLVE, S.RESOLVED),
    (S.BOT, T.RESOLVE, S.RESOLVED), (S.RESOLVED, T.REOPEN, S.BOT), (S.ASSIGNED, T.REQUEUE, S.QUEUED),
])
def test_legal_moves(current, transition, expected):
    assert next_status(current, transition) is expected


@pytest.mark.parametrize("current,transition", [
    (S.BOT, T.CLAIM), (S.ASSIGNED, T.CLAIM), (S.RESOLVED, T.HANDOFF), (S.BOT, T.HAND_BACK),
    (S.RESOLVED, T.RESOLVE), (S.QUEUED, T.HANDOFF), (S.BOT, T.REOPEN),
])
def test_illegal_moves_raise(current, transition):
    with pytest.raises(InvalidTransition) as info:
        next_status(current, transition)
    assert current.value in str(info.value)


def test_bot_is_silent_while_a_person_owns_the_conversation():
    assert human_owns(S.QUEUED) and human_owns(S.ASSIGNED)
    assert not human_owns(S.BOT) and not human_owns(S.RESOLVED)
