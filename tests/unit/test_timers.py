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


def test_cancelled_and_replaced_entries_are_dropped_once_they_pass_a_quarter_of_the_live_ones():
    q = TimerQueue()
    for mn in range(1000):
        q.start(f"maar{mn}", "lifetime", 1000.0 + mn)
    most = 0
    for round_ in range(5):  # every MN's retx restarted and cancelled again and again
        for mn in range(1000):
            q.start(f"maar{mn}", "retx", 10.0 + round_)
            q.cancel(f"maar{mn}", "retx")
            most = max(most, q.entries)
    assert len(q) == 1000
    assert most <= 1000 + 1 + (1000 + 1) // 4 + 64 + 1  # a quarter dead entry per live one
    assert q.next_deadline() == 1000.0
    assert drain(q, 1000.0 + 999)[:2] == [("maar0", "lifetime"), ("maar1", "lifetime")]
    assert len(q) == 0


def test_compaction_keeps_the_replacing_entry_of_a_restarted_key():
    q = TimerQueue()
    for i in range(500):
        q.start("cmd", "refresh", float(i))  # each start replaces the previous one
    assert q.entries < 100
    assert drain(q, 498.0) == []
    assert drain(q, 499.0) == [("cmd", "refresh")]


def test_cancelling_an_owner_cancels_only_its_timers_and_keeps_the_count():
    q = TimerQueue()
    q.start("maar1", "refresh", 1.0)
    q.start("maar1", "refresh", 2.0)  # replaced: still one live timer
    q.start("maar1", ("expire", "mn1"), 3.0)
    q.start("cmd", ("expire", "mn1"), 4.0)
    assert len(q) == 3
    q.cancel_owner("maar1")
    q.cancel_owner("maar9")  # no timers: nothing changes
    assert len(q) == 1
    assert drain(q, 10.0) == [("cmd", ("expire", "mn1"))]
    assert len(q) == 0
    q.start("maar1", "refresh", 11.0)  # an owner cancelled once can start again
    assert drain(q, 11.0) == [("maar1", "refresh")]


def test_a_restarted_timer_keeps_one_key_object():
    """A restart overwrites the live entry in place with the key object the
    table already holds, and its heap entry holds that one too, so no
    second equal key stays alive (nor a dummy slot in the table)."""
    q = TimerQueue()
    first, second = ("expire", "mn1"), tuple(["expire", "mn1"])
    q.start("cmd", first, 5.0)
    q.start("cmd", second, 6.0)
    assert len(q) == 1
    (kept,) = q._live["cmd"]
    assert kept is first
    assert drain(q, 5.0) == []
    (due,) = drain(q, 6.0)
    assert due == ("cmd", first) and due[1] is first


def test_equal_deadlines_fire_in_start_order_after_restarts():
    q = TimerQueue()
    q.start("maar1", "a", 1.0)
    q.start("maar1", "b", 1.0)
    q.start("maar1", "a", 1.0)  # restarted: now after b
    q.start("cmd", "c", 1.0)
    assert drain(q, 1.0) == [("maar1", "b"), ("maar1", "a"), ("cmd", "c")]
