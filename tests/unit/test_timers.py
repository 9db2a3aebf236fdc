"""The runtime's timer queue: replacement, cancellation, ordering."""
from dmm_ryu.runtime.timers import TimerQueue


def drain(q, now):
    out = []
    due = q.pop_due(now)
    while due is not None:
        out.append(due)
        due = q.pop_due(now)
    return out


def test_due_timers_fire_in_deadline_order():
    q = TimerQueue()
    q.start("maar1", "b", 2.0)
    q.start("cmd", "a", 1.0)
    q.start("maar2", "c", 3.0)
    assert q.next_deadline() == 1.0
    assert drain(q, 2.5) == [("cmd", "a"), ("maar1", "b")]
    assert q.next_deadline() == 3.0


def test_starting_a_key_again_replaces_it_and_cancel_removes_it():
    q = TimerQueue()
    q.start("maar1", "retx", 1.0)
    q.start("maar1", "retx", 5.0)
    q.start("maar2", "retx", 1.0)
    q.cancel("maar2", "retx")
    q.cancel("maar3", "never-started")
    assert drain(q, 4.0) == []
    assert drain(q, 5.0) == [("maar1", "retx")]
    assert q.next_deadline() is None
