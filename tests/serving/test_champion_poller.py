"""ChampionPoller's reload announcements (serving.models): what another worker announced is refreshed once."""

from __future__ import annotations

from serving.models import ChampionPoller


class _Slot:
    def __init__(self, name: str):
        self.name, self.refreshes, self.current = name, 0, None

    def refresh(self) -> bool:
        self.refreshes += 1
        return False


def test_changed_revisions_refresh_their_slot_once_and_own_announcements_do_not():
    board: dict[str, int] = {"vol": 1}
    vol, sig = _Slot("vol"), _Slot("sig")

    def announce(name: str, version: str | None) -> int:
        board[name] = board.get(name, 0) + 10
        return board[name]

    poller = ChampionPoller([vol, sig], 0, hints=lambda: dict(board), announce=announce)
    assert poller.changed_by_hint() == []  # the first read is the baseline
    board["vol"] = 2  # another worker announced a reload of vol
    assert poller.changed_by_hint() == [vol]
    assert poller.changed_by_hint() == []  # seen once
    poller.reload(sig)  # this worker's own announcement: refreshed here, not again by the hint
    assert sig.refreshes == 1 and board["sig"] == 10
    assert poller.changed_by_hint() == []


def test_an_unreadable_board_changes_nothing():
    def broken() -> dict[str, int]:
        raise OSError("database is down")

    poller = ChampionPoller([_Slot("vol")], 0, hints=broken)
    assert poller.changed_by_hint() == [] and poller.changed_by_hint() == []
