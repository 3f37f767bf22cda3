"""The retrain backoff: no second retrain while one is open, the cooldown doubles after each lost retrain."""

from __future__ import annotations

from ml.monitoring import RetrainRecord, backoff_note, retrain_backoff


def test_an_open_retrain_blocks_the_next_trigger():
    cooldown, blocked = retrain_backoff(20, [RetrainRecord(7, True, None), RetrainRecord(5, False, False)])
    assert blocked == "the retrain of trigger #7 for this champion is still open" and cooldown == 20


def test_each_lost_retrain_in_a_row_doubles_the_cooldown_up_to_the_cap():
    assert retrain_backoff(20, []) == (20, None)
    lost = [RetrainRecord(i, False, False) for i in range(6, 0, -1)]
    assert [retrain_backoff(20, lost[:k])[0] for k in range(6)] == [20, 40, 80, 160, 160, 160]
    assert retrain_backoff(20, lost[:2], max_doublings=1) == (40, None)


def test_only_the_newest_run_of_losses_counts():
    # a failed retrain (promoted unknown) ends the run of losses: the cooldown does not grow past it
    history = [RetrainRecord(9, False, False), RetrainRecord(8, False, None), RetrainRecord(7, False, False)]
    assert retrain_backoff(20, history) == (40, None)
    assert backoff_note(20, 80) == "cooldown 80 bars: 20 x 4 after 2 retrain(s) in a row that lost to this champion"
