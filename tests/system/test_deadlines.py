"""test_deadlines.py -- the deadline clocks with the real services, on days that matter: the whole
system runs at a time offset that puts "now" on Monday 2026-09-28 about 10:00 Beijing time, just
before the National Day holiday, and the watcher is restarted with later offsets to step through
time (no waiting for real days). Checks the working-day arithmetic an order gets, the warning,
deadline and escalation each firing once with its webhook, the overdue board, a watcher that was
down past all three, pause and resume, an approved extension, two watchers at once, and a watcher
killed with SIGKILL in the middle of firing."""
import concurrent.futures
import datetime
import signal
import time

from harness import Checks, System, wait_for

BJ = datetime.timezone(datetime.timedelta(hours=8))
DAY = 86400000
MINUTE = 60000
HOUR = 3600000
LAMP = {"channel": "phone", "caller": {"phone": "13800000001"},
        "text": "来电人反映：城关镇人民路路灯坏了一个月了", "address": "城关镇人民路"}
VAGUE = {"channel": "phone", "caller": {"phone": "13800000009"}, "text": "你好，我想反映个事情"}
UNIT = "urban-management"
STAGES = ("ack", "reply", "close")


def ms(text):
    """API time text ("2026-10-10T17:30:00+08:00", maybe with .mmm) -> ms since the epoch."""
    return int(round(datetime.datetime.fromisoformat(text).timestamp() * 1000))


def offset_to(target_ms):
    """A [test] time_offset that makes a service started now see target_ms as its now."""
    delta = int(target_ms - time.time() * 1000)
    days, secs = divmod(abs(delta) // 1000, 86400)
    text = ("%dd" % days if days else "") + ("%ds" % secs if secs else "")
    return ("-" if delta < 0 else "") + (text or "1s")


BASE = ms("2026-09-28T10:00:00+08:00")  # a Monday; Oct 1-7 holiday, Sat Oct 10 a make-up day


class Orders:
    """Orders through the API, and what their timelines and the webhooks say."""

    def __init__(self, s, c):
        self.s, self.c = s, c

    def get(self, tid, token="supervisor"):
        st, doc, _ = self.s.api("GET", "/v1/tickets/" + tid, token=token)
        return doc if st == 200 else None

    def clocked(self, tid):
        t = self.get(tid)
        return t if t and "warn_at" in t.get("deadlines", {}).get("close", {}) else None

    def create(self, phone="13800000001", body=LAMP):
        st, doc, _ = self.s.api("POST", "/v1/tickets", dict(body, caller={"phone": phone}))
        if st != 201:
            raise RuntimeError("create answered %s: %s" % (st, doc))
        return doc["id"]

    def new(self, phone):
        tid = self.create(phone)
        wait_for(lambda: self.clocked(tid), "clocks of " + tid, 10)
        return tid

    def step(self, tid, step, body, token):
        st, doc, _ = self.s.api("POST", "/v1/tickets/%s/%s" % (tid, step), body, token=token)
        self.c.equal(st, 200, "%s %s by %s: %s" % (step, tid, token, doc))
        return doc

    def fired(self, tid, what, stage=None):
        """Timeline entries of one kind (deadline.warning, deadline.due, ...)."""
        t = self.get(tid) or {}
        return [e for e in t.get("timeline", []) if e.get("what") == what and
                (stage is None or e.get("stage") == stage)]

    def hooks(self, event, tid=None, stage=None, path=None, all_hooks=None):
        return [h for h in (all_hooks if all_hooks is not None else self.s.webhooks())
                if h["event"] == event and (tid is None or h["body"].get("ticket") == tid) and
                (stage is None or h["body"].get("stage") == stage) and
                (path is None or h["path"] == path)]

    def wait_hook(self, event, tid, stage, path=None, timeout=10):
        try:
            wait_for(lambda: self.hooks(event, tid, stage, path), "%s %s %s" % (event, tid, stage),
                     timeout)
            return True
        except Exception:
            return False


def move_clock(s, target_ms, more=""):
    """Stops the watcher and restarts it (and the notifier, whose redelivery compares an outbox
    record's time with its own clock) at an offset that makes their now target_ms."""
    s.stop("watcher")
    off = offset_to(target_ms)
    s.restart("notifier", off)
    s.restart("watcher", off, more=more)
    return off


# ---------------------------------------------------------------------------------------------
# One order through warning, deadline and escalation; pause/resume; extension; an outage


def stepping(c):
    # urgent orders here get long working-day clocks with a 2-hour lead warning, so the order
    # dispatched as urgent has nothing due until well after the normal order's escalation
    policy = {"urgent": {"ack": "10wd", "reply": "11wd", "close": "12wd", "warn": "2h"}}
    with System(policy=policy, offset=offset_to(BASE)) as s:
        o = Orders(s, c)
        a = o.new("13800000001")
        e = o.new("13800000002")
        p = o.new("13800000003")
        u = o.create("13800000004", VAGUE)
        wait_for(lambda: (o.get(u) or {}).get("status") == "pending_dispatch", "manual queue", 10)
        o.step(u, "dispatch", {"unit": UNIT, "urgency": "urgent", "note": "路灯"}, "dispatcher")
        wait_for(lambda: o.clocked(u), "clocks of the urgent order", 10)

        # -- the plan: 5 working days over the National Day holiday -----------------------------
        t = o.get(a)
        c.check(t["dispatched_at"].startswith("2026-09-28T10:0"),
                "the system runs on Monday 2026-09-28 ~10:00: dispatched %s" % t["dispatched_at"])
        d = t["deadlines"]
        close = d["close"]
        c.equal(close["due"], "2026-10-10T17:30:00+08:00",
                "close = 5wd from Mon Sep 28: Oct 1-7 off, make-up Saturday Oct 10 counted")
        c.equal((close["span"], close["state"], close["light"]), ("5wd", "running", ""),
                "close clock running, no light")
        start, due = ms(close["started_at"]), ms(close["due"])
        c.check(abs(ms(close["warn_at"]) - (due - (due - start) // 4)) < 1000,
                "warning when 25%% of the clock is left: %s" % close["warn_at"])
        c.equal(close["escalate_at"], "2026-10-13T17:30:00+08:00",
                "escalation 1 working day after the due time (Tue Oct 13)")
        c.equal(d["ack"]["due"], "2026-09-29T17:30:00+08:00", "ack = 1wd: Tue Sep 29 17:30")
        c.equal(ms(d["reply"]["due"]) - ms(t["dispatched_at"]), 72 * HOUR, "reply = 72 h")
        du = o.get(u)["deadlines"]
        c.equal([du[x]["due"] for x in STAGES],
                ["2026-10-16T17:30:00+08:00", "2026-10-19T17:30:00+08:00",
                 "2026-10-20T17:30:00+08:00"], "urgent policy: 10wd, 11wd, 12wd from Sep 28")
        c.equal(du["close"]["warn_at"], "2026-10-20T15:30:00+08:00", "a 2h lead warning")
        warn_at, due_at, esc_at = ms(close["warn_at"]), due, ms(close["escalate_at"])

        # -- pause and resume a day later: every clock moves by the paused time ----------------
        before = o.get(p)["deadlines"]
        o.step(p, "pause", {"reason": "等待市民提供具体位置"}, "unit-urban")
        tp = o.get(p)
        c.equal([tp["deadlines"][x]["state"] for x in STAGES], ["paused"] * 3, "clocks paused")
        c.equal([m for m in s.redis("ZRANGE", "{bx}:clk", "0", "-1").split("\n")
                 if m.startswith(p + "|")], [], "no clock of the paused order is left to fire")
        s.restart("intake", offset_to(BASE + DAY))
        o.step(p, "resume", {"note": "位置已确认"}, "unit-urban")
        tp = o.get(p)
        res = [x for x in tp["timeline"] if x["what"] == "resume"]
        paused = res[-1].get("paused_ms", 0) if res else 0
        c.check(abs(paused - DAY) < MINUTE, "paused about a day: %d ms" % paused)
        for x in STAGES:
            c.equal(tp["deadlines"][x]["due_ms"] - before[x]["due_ms"], paused,
                    "resume moves the %s due time by exactly the paused time" % x)
            c.equal(tp["deadlines"][x]["state"], "running", "%s running again" % x)
        c.equal(int(float(s.redis("ZSCORE", "{bx}:clk", p + "|close|due") or 0)),
                tp["deadlines"]["close"]["due_ms"], "the close clock fires at the moved time")

        # -- before the warning time: nothing for the close stage ------------------------------
        move_clock(s, warn_at - HOUR)
        time.sleep(3)
        c.equal([(h["event"], h["body"]["ticket"]) for h in s.webhooks()
                 if h["event"].startswith("deadline.") and h["body"].get("stage") == "close"],
                [], "nothing fires for close before its warning time")
        c.equal(o.get(a)["deadlines"]["close"]["light"], "", "no light before the warning")
        c.check(o.hooks("deadline.due", a, "ack"), "(the 1wd ack clock did fire by then)")

        # -- after the warning time: one warning, yellow ------------------------------------------
        move_clock(s, warn_at + MINUTE)
        c.check(o.wait_hook("deadline.warning", a, "close", "/hook/" + UNIT),
                "a deadline.warning webhook to the unit after warn_at")
        o.wait_hook("deadline.warning", e, "close")
        time.sleep(2)
        c.equal(len(o.hooks("deadline.warning", a, "close")), 1, "exactly one warning webhook")
        c.equal(len(o.fired(a, "deadline.warning", "close")), 1, "one warning on the timeline")
        cl = o.get(a)["deadlines"]["close"]
        c.equal((cl["light"], cl["state"]), ("yellow", "running"), "yellow, still running")

        # -- an extension approved after the warning ----------------------------------------------
        until = "2026-10-15T17:30:00+08:00"
        o.step(e, "extend", {"until": until, "reason": "需要采购灯具"}, "unit-urban")
        o.step(e, "decide-extension", {"decision": "approve", "reason": "同意延期"}, "supervisor")
        wait_for(lambda: [x for x in o.get(e)["timeline"] if x["what"] == "clock_rearmed"],
                 "the extended clock re-armed", 10)
        ce = o.get(e)["deadlines"]["close"]
        c.equal((ce["due"], ce["light"], ce["state"]), (until, "", "running"),
                "extension: close due moved, light reset, running")
        new_warn = ms(ce["warn_at"])
        c.check(warn_at + MINUTE < new_warn < ms(until),
                "a new warning time before the new due: %s" % ce["warn_at"])

        # -- after the due time: one deadline, overdue, red, on the board -------------------------
        move_clock(s, due_at + MINUTE)
        c.check(o.wait_hook("deadline.due", a, "close", "/hook/" + UNIT),
                "a deadline.due webhook to the unit after the due time")
        time.sleep(2)
        c.equal(len(o.hooks("deadline.due", a, "close")), 1, "exactly one deadline.due webhook")
        c.equal(len(o.fired(a, "deadline.due", "close")), 1, "one deadline.due on the timeline")
        cl = o.get(a)["deadlines"]["close"]
        c.equal((cl["state"], cl["light"]), ("overdue", "red"), "overdue and red")
        c.equal(o.hooks("deadline.escalated", a, "close"), [], "no escalation before its time")
        st, board, _ = s.api("GET", "/v1/overdue", token="supervisor")
        c.equal(st, 200, "supervisor reads the overdue board")
        rows = [r for r in ((board or {}).get("units", {}).get(UNIT, {}).get("orders", []))
                if r["ticket"] == a and r["stage"] == "close"]
        c.equal([(r["due"], r["escalated_at"]) for r in rows],
                [("2026-10-10T17:30:00+08:00", None)], "listed under the unit, not escalated")
        st, _, _ = s.api("GET", "/v1/overdue", token="unit-urban")
        c.equal(st, 403, "a unit does not read the board")
        c.equal((o.hooks("deadline.due", e, "close"), o.get(e)["deadlines"]["close"]["state"]),
                ([], "running"), "the extended order's old deadline does not fire")
        c.equal(o.get(p)["deadlines"]["close"]["state"], "running",
                "the paused order's deadline moved past this point")

        # -- after the escalation time: supervisor and chase, once --------------------------------
        move_clock(s, esc_at + MINUTE)
        c.check(o.wait_hook("deadline.escalated", a, "close", "/hook/supervisor"),
                "deadline.escalated webhook to the supervisor")
        c.check(o.wait_hook("deadline.chase", a, "close", "/hook/" + UNIT),
                "deadline.chase webhook to the unit")
        o.wait_hook("deadline.warning", e, "close")
        time.sleep(2)
        c.equal(len(o.hooks("deadline.escalated", a, "close")), 1, "exactly one escalation")
        c.equal(len(o.hooks("deadline.chase", a, "close")), 1, "exactly one chase")
        c.check("escalated_at" in o.get(a)["deadlines"]["close"], "escalated_at on the order")
        st, board, _ = s.api("GET", "/v1/overdue", token="supervisor")
        rows = [r for r in ((board or {}).get("units", {}).get(UNIT, {}).get("orders", []))
                if r["ticket"] == a and r["stage"] == "close"]
        c.check(rows and rows[0]["escalated_at"], "the board shows the escalation: %s" % rows)
        warns = o.hooks("deadline.warning", e, "close")
        c.equal(sorted(h["body"]["due_at"] for h in warns), [due_at, ms(until)],
                "the extended order is warned again, for its new deadline")
        c.equal(len({h["notification_id"] for h in warns}), 2, "two warnings, two ids")
        c.equal(o.get(e)["deadlines"]["close"]["light"], "yellow", "yellow again")
        c.equal(len(o.hooks("deadline.due", p, "close")), 1,
                "the paused order falls due a day later")

        # -- the watcher was down for a week: everything fires at once, in due order --------------
        du = o.get(u)["deadlines"]
        move_clock(s, ms(du["close"]["escalate_at"]) + HOUR)
        c.check(o.wait_hook("deadline.escalated", u, "close", "/hook/supervisor", 15),
                "after the outage the last escalation arrives")
        time.sleep(2)
        moment = {"deadline.warning": "warn_at", "deadline.due": "due",
                  "deadline.escalated": "escalate_at"}
        tl = [x for x in o.get(u)["timeline"] if x["what"] in moment]
        c.equal(sorted((x["stage"], x["what"]) for x in tl),
                sorted((st_, w) for st_ in STAGES for w in moment), "all nine fired, once each")
        times = [ms(du[x["stage"]][moment[x["what"]]]) for x in tl]
        c.equal(times, sorted(times), "fired in the order they were due")
        for x in tl:
            if x["what"] == "deadline.due":
                c.check(x.get("late") is True and x.get("late_ms") == ms(x["at"]) - ms(x["due"]) and
                        x["late_ms"] > DAY, "the %s deadline says how late: late_ms=%s late=%s"
                        % (x["stage"], x.get("late_ms"), x.get("late")))
        hooks = s.webhooks()
        for ev in ("deadline.warning", "deadline.due", "deadline.escalated", "deadline.chase"):
            c.equal(sorted(h["body"]["stage"] for h in o.hooks(ev, u, all_hooks=hooks)),
                    sorted(STAGES), "%s webhooks after the outage, one per stage" % ev)


# ---------------------------------------------------------------------------------------------
# Many orders: two watchers at once, and a watcher killed while firing


def bulk_orders(s, o, n, first_phone):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: o.create("139%08d" % (first_phone + i)), range(n)))
    # every order has its warn, due and esc clock for ack, reply and close
    wait_for(lambda: int(s.redis("ZCARD", "{bx}:clk")) == 9 * n, "clocks of %d orders" % n, 30)
    return ids


def per_order(o, ids):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return dict(zip(ids, pool.map(o.get, ids)))


def count_fired(views, what):
    """{(ticket, stage): number of timeline entries of that kind}."""
    out = {}
    for tid, t in views.items():
        for st in STAGES:
            out[(tid, st)] = 0
        for x in (t or {}).get("timeline", []):
            if x["what"] == what:
                out[(tid, x["stage"])] = out.get((tid, x["stage"]), 0) + 1
    return out


def escalation_check(c, views, what):
    esc = count_fired(views, "deadline.escalated")
    lost = sorted(k for k, v in esc.items() if v != 1)
    c.check(not lost, "%s: every overdue stage is escalated exactly once; %d of %d are not "
            "(e.g. %s). BUG in rexian.lua clock_fire: an esc clock fired while its stage is "
            "still running (its due clock is held by another watcher or by a dead watcher's "
            "lease) is removed and returns {0}, so that escalation never happens"
            % (what, len(lost), len(esc), lost[:3]))


DUPLICATE_BUG = (
    "BUG (notifier + rexian.lua notify_lease): a notification still waiting in a notifier's "
    "queue when its outbox time passes (lease or redelivery time) is claimed again by that "
    "notifier's outbox_claim; notify_lease grants it again because the caller already holds it "
    "(holder == src), and notifier_on_batch queues it a second time: delivered twice, same id")


def delivery_report(c, o, what, n_due):
    hooks = o.hooks("deadline.due")
    ids = [h["notification_id"] for h in hooks]
    dups = sum(1 for h in o.s.webhooks() if h.get("duplicate"))
    print("%s: %d deadline.due deliveries, %d distinct ids; %d duplicate deliveries of any "
          "kind" % (what, len(ids), len(set(ids)), dups), flush=True)
    c.equal(len(set(ids)), n_due, "%s: a deadline.due webhook for every overdue stage" % what)
    c.equal(len(ids), len(set(ids)), "%s: no deadline.due delivered twice. %s"
            % (what, DUPLICATE_BUG))
    c.equal(dups, 0, "%s: the receiver saw no duplicate notification. %s" % (what, DUPLICATE_BUG))


# The demo receiver (Python's http.server) listens with a backlog of 5: the notifier's default 64
# new connections at once lose SYNs, time out and back off. A few connections carry thousands.
FEW_CONNECTIONS = "[notifier]\nparallel = 4\n"


def two_watchers(c):
    n = 200
    with System(offset=offset_to(BASE), extra=FEW_CONNECTIONS) as s:
        o = Orders(s, c)
        ids = bulk_orders(s, o, n, 1000)
        s.stop("watcher")
        off = offset_to(BASE + 30 * DAY)
        s.restart("notifier", off)
        p1 = s.restart("watcher", off, wait=False)
        p2 = s.restart("watcher", off, key="watcher2", wait=False)
        wait_for(lambda: s.health(p1) == 200 and s.health(p2) == 200, "two watchers", 10)
        wait_for(lambda: int(s.redis("ZCARD", "{bx}:clk")) == 0, "every clock fired", 30)
        c.equal(int(s.redis("ZCARD", "{bx}:overdue")), 3 * n, "every stage overdue")
        wait_for(lambda: len({h["notification_id"] for h in o.hooks("deadline.due")}) >= 3 * n,
                 "deadline.due webhooks", 30)
        time.sleep(2)
        views = per_order(o, ids)
        due = count_fired(views, "deadline.due")
        c.equal(sorted(set(due.values())), [1], "two watchers: each deadline fired exactly once")
        by = {}
        for t in views.values():
            for x in (t or {}).get("timeline", []):
                if x["what"].startswith("deadline."):
                    by[x["actor"]] = by.get(x["actor"], 0) + 1
        print("two watchers: clocks fired per watcher instance: %s" % by, flush=True)
        c.check(len(by) == 2, "both watchers fired clocks (otherwise nothing ran concurrently): "
                "%s" % by)
        c.check(all(t and all(t["deadlines"][x]["state"] == "overdue" for x in STAGES)
                    for t in views.values()), "every stage of every order overdue")
        delivery_report(c, o, "two watchers", 3 * n)
        escalation_check(c, views, "two watchers")


def killed_watcher(c):
    n = 300
    with System(offset=offset_to(BASE), extra=FEW_CONNECTIONS) as s:
        o = Orders(s, c)
        ids = bulk_orders(s, o, n, 5000)
        s.stop("watcher")
        off = offset_to(BASE + 30 * DAY)
        s.restart("notifier", off)
        # a small claim batch keeps it firing long enough to be killed in the middle
        s.restart("watcher", off, more="[delivery]\nbatch = 1\n")
        wait_for(lambda: any(h["event"].startswith("deadline.") for h in s.webhooks()),
                 "the first deadline webhooks", 15)
        s.stop("watcher", signal.SIGKILL)
        left = int(s.redis("ZCARD", "{bx}:clk"))
        stat = s.redis("HGETALL", "{bx}:stat").split("\n")
        stat = dict(zip(stat[::2], stat[1::2]))
        fired_due = sum(int(stat.get("overdue_" + x, 0)) for x in STAGES)
        print("killed watcher: %d of %d clocks taken, %d of %d deadlines fired"
              % (9 * n - left, 9 * n, fired_due, 3 * n), flush=True)
        c.check(0 < left < 9 * n, "the watcher was killed while firing (%d of %d clocks taken)"
                % (9 * n - left, 9 * n))
        s.restart("watcher", off, key="watcher2")
        wait_for(lambda: int(s.redis("ZCARD", "{bx}:clk")) == 0, "every clock fired", 30)
        c.equal(int(s.redis("ZCARD", "{bx}:overdue")), 3 * n, "every stage overdue")

        def all_delivered():
            views = per_order(o, ids)
            return all(t and sum(1 for x in t["notifications"] if x["kind"] == "deadline.due" and
                                 x["state"] == "delivered") == 3 for t in views.values())
        try:
            wait_for(all_delivered, "deadline.due notifications delivered", 30)
        except Exception:
            pass
        time.sleep(1)
        views = per_order(o, ids)
        due = count_fired(views, "deadline.due")
        c.equal(sorted(set(due.values())), [1],
                "after SIGKILL: every deadline on the timeline exactly once")
        undelivered = [(tid, x["nid"], x["state"]) for tid, t in views.items()
                       for x in (t or {}).get("notifications", [])
                       if x["kind"] == "deadline.due" and x["state"] != "delivered"]
        c.equal(undelivered[:3], [], "after SIGKILL: every deadline.due notification delivered "
                "(%d not)" % len(undelivered))
        received = {h["notification_id"] for h in o.hooks("deadline.due")}
        recorded = {x["nid"] for t in views.values() for x in (t or {}).get("notifications", [])
                    if x["kind"] == "deadline.due"}
        c.equal(len(recorded), 3 * n, "one deadline.due notification per stage on the orders")
        c.equal(sorted(recorded - received)[:3], [], "each of them reached the unit's webhook")
        delivery_report(c, o, "killed watcher", 3 * n)
        escalation_check(c, views, "killed watcher")


def slow_receiver(c):
    """A watcher back after an outage fires every clock of 60 orders at once, and the receiver
    takes 50 ms an answer: notifications wait in the notifier's queue longer than their lease.
    Each must still reach the receiver once."""
    n = 60
    with System(offset=offset_to(BASE), extra=FEW_CONNECTIONS,
                receiver_args=["--delay-ms", "50"]) as s:
        o = Orders(s, c)
        bulk_orders(s, o, n, 9000)
        wait_for(lambda: len(s.webhooks()) >= 2 * n, "new-order and citizen notices", 30)
        move_clock(s, BASE + 30 * DAY)
        wait_for(lambda: int(s.redis("ZCARD", "{bx}:clk")) == 0, "every clock fired", 30)
        # per stage: warning, deadline, escalation and chase
        wait_for(lambda: len({h["notification_id"] for h in s.webhooks()}) >= 2 * n + 12 * n,
                 "every deadline notice delivered", 60)
        time.sleep(2)
        hooks = s.webhooks()
        ids = [h["notification_id"] for h in hooks]
        dups = len(ids) - len(set(ids))
        print("slow receiver: %d deliveries, %d distinct ids" % (len(ids), len(set(ids))),
              flush=True)
        c.equal(dups, 0, "slow receiver: no notification delivered twice (%d were). " % dups +
                DUPLICATE_BUG)


def main():
    c = Checks()
    t0 = time.time()
    for part in (stepping, two_watchers, killed_watcher, slow_receiver):
        t1 = time.time()
        try:
            part(c)
        except Exception as e:  # a part that cannot go on is one failure; the others still run
            c.check(False, "%s stopped: %s: %s" % (part.__name__, type(e).__name__, e))
        print("%s: %.1f s" % (part.__name__, time.time() - t1), flush=True)
    print("total %.1f s" % (time.time() - t0), flush=True)
    return c.done()


if __name__ == "__main__":
    raise SystemExit(main())
