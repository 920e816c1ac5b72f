#!/usr/bin/python3
# test_store.py -- the ticket store's Redis functions (services/common/lua/rexian.lua) on a real
# redis-server
#
# Starts its own redis-server on a free loopback port in a temporary directory (AOF on, fsync
# always), loads the library with FUNCTION LOAD REPLACE and checks each function's outcome
# through the functions' replies and the keys the library's header lists. Checks marked
# "KNOWN BUG" guard bugs that were found and fixed: they fail again if one comes back.
# Prints each failure and "N passed, N failed"; exits non-zero on any failure.
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import msgpack
import redis

SOURCE_DIR = os.environ.get("REXIAN_SOURCE_DIR",
                            os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LIBRARY = os.path.join(SOURCE_DIR, "services", "common", "lua", "rexian.lua")

T0 = 1767225600000  # 2026-01-01 00:00 UTC, in ms
DAY = "20260101"
PREFIX = "BX"
REDELIVER = 5000

passed = 0
failed = 0


def check(name, cond, detail="", bug=None):
    """Counts one check; prints it when it fails (bug: why rexian.lua is wrong here)."""
    global passed, failed
    if cond:
        passed += 1
        return True
    failed += 1
    if bug:
        print("FAIL %s: KNOWN BUG in rexian.lua: %s%s" % (name, bug,
                                                          (" (" + detail + ")") if detail else ""))
    else:
        print("FAIL %s%s" % (name, (": " + detail) if detail else ""))
    return False


def eq(name, got, want, bug=None):
    return check(name, got == want, "got %r, want %r" % (got, want), bug)


def s(x):
    """Reply bytes as text."""
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return x


# ---------------------------------------------------------------------------------------------
# The server


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def start_server(tmp):
    """Starts redis-server; returns (process, client). Retries when the port was taken."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--daemonize", "no", "--logfile", os.path.join(tmp, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if client.ping():
                    return proc, client
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        proc.kill()
        proc.wait()
    raise RuntimeError("redis-server did not start; see %s/redis.log" % tmp)


def snapshot(r):
    """Every key with its type and whole content, to show a call changed nothing."""
    out = {}
    for k in r.scan_iter(count=1000):
        t = s(r.type(k))
        if t == "string":
            v = r.get(k)
        elif t == "hash":
            v = sorted(r.hgetall(k).items())
        elif t == "list":
            v = r.lrange(k, 0, -1)
        elif t == "zset":
            v = r.zrange(k, 0, -1, withscores=True)
        elif t == "stream":
            v = r.xrange(k)
        else:
            v = t
        out[k] = (t, v)
    return out


def same_snapshot(name, before, after):
    if before == after:
        return check(name, True)
    added = sorted(s(k) for k in after if k not in before)
    gone = sorted(s(k) for k in before if k not in after)
    changed = sorted(s(k) for k in after if k in before and before[k] != after[k])
    return check(name, False, "keys added %s, removed %s, changed %s" % (added, gone, changed))


# ---------------------------------------------------------------------------------------------
# Calls


class Store:
    def __init__(self, r, tag):
        self.r = r
        self.tag = tag

    def k(self, *parts):
        return "{%s}:%s" % (self.tag, ":".join(parts))

    def fcall(self, name, *args):
        return self.r.execute_command("FCALL", name, 0, self.tag, *args)

    def create(self, idem, now=T0, day=DAY, **fields):
        f = dict(channel="phone", phone="13800138000", text="人民路路灯不亮，已经三天了",
                 address="北县城关镇人民路12号", category="report", township="bx.cgz",
                 actor="op-7", role="operator")
        f.update(fields)
        return self.fcall("ticket_create", idem, now, day, PREFIX, "intake-1", REDELIVER,
                          json.dumps(f, ensure_ascii=False))

    def dispatch(self, mid, now, decision):
        return self.fcall("ticket_dispatch", mid, now, "router-1", REDELIVER,
                          json.dumps(decision, ensure_ascii=False))

    def hash(self, *parts):
        return {s(a): s(b) for a, b in self.r.hgetall(self.k(*parts)).items()}

    def timeline(self, tid):
        return [json.loads(e) for e in self.r.lrange(self.k("t", tid, "tl"), 0, -1)]

    def notes(self, tid):
        return {s(a): json.loads(b) for a, b in self.r.hgetall(self.k("t", tid, "nt")).items()}

    def score(self, *parts_and_member):
        v = self.r.zscore(self.k(*parts_and_member[:-1]), parts_and_member[-1])
        return None if v is None else int(v)


def decision(tid, unit="bx.zjj", co_units=(), manual=False, urgency="urgent"):
    return {"ticket": tid, "manual": manual, "unit": unit, "co_units": list(co_units),
            "urgency": urgency, "why": "phrase 路灯 -> %s" % unit, "score": 9,
            "candidates": [{"unit": unit, "score": 9}, {"unit": "bx.sw", "score": 3}]}


def unpack(frame):
    return msgpack.unpackb(frame, raw=False, strict_map_key=False)


def created_ticket(st, idem, now=T0, **fields):
    rep = st.create(idem, now, **fields)
    return s(rep[0])


def dispatched_ticket(st, idem, now=T0, unit="bx.zjj", co_units=(), **fields):
    """A dispatched ticket: (id, the lead unit's new-order notification id)."""
    tid = created_ticket(st, idem, now, **fields)
    rep = st.dispatch(tid + ":created", now + 100, decision(tid, unit, co_units))
    if rep[0] != 1:
        raise RuntimeError("dispatch of %s failed: %r" % (tid, rep))
    return tid, unpack(rep[2])["id"]


# ---------------------------------------------------------------------------------------------
# ticket_create


def test_create(r):
    st = Store(r, "c1")
    rep = st.create("c:call-1")
    tid = s(rep[0])
    eq("create: returns created=1", rep[1], 1)
    check("create: id is PREFIX-YYYYMMDD-NNNNNN", re.fullmatch(r"BX-\d{8}-\d{6}", tid) is not None,
          tid)
    eq("create: first id of the day", tid, "BX-20260101-000001")
    tid2 = s(st.create("c:call-2", T0 + 1)[0])
    eq("create: second id of the day counts on", tid2, "BX-20260101-000002")
    tid3 = s(st.create("c:call-3", T0 + 86400000, day="20260102")[0])
    eq("create: a new day starts at 1", tid3, "BX-20260102-000001")
    eq("create: per-day counter", s(r.get(st.k("seq", DAY))), "2")

    h = st.hash("t", tid)
    want = {"id": tid, "status": "received", "rev": "1", "tier": "c1", "channel": "phone",
            "phone": "13800138000", "text": "人民路路灯不亮，已经三天了",
            "address": "北县城关镇人民路12号", "category": "report", "township": "bx.cgz",
            "created_at": str(T0), "updated_at": str(T0), "created_by": "op-7"}
    for f, v in want.items():
        eq("create: ticket field %s" % f, h.get(f), v)

    tl = st.timeline(tid)
    eq("create: one timeline entry", len(tl), 1)
    if tl:
        eq("create: timeline what", tl[0].get("what"), "received")
        eq("create: timeline actor", tl[0].get("actor"), "op-7")
        eq("create: timeline role", tl[0].get("role"), "operator")
        eq("create: timeline at", tl[0].get("at"), T0)

    mid = tid + ":created"
    eq("create: router outbox due after the redelivery time", st.score("ob", "router", mid),
       T0 + REDELIVER)
    stored = r.hget(st.k("ob", "router", "m"), mid)
    eq("create: outbox frame is the one returned", stored, rep[2])
    fr = unpack(rep[2])
    eq("create: frame v", fr.get("v"), 1)
    eq("create: frame type", fr.get("type"), "ticket.created")
    eq("create: frame id", fr.get("id"), mid)
    eq("create: frame ts", fr.get("ts"), T0)
    eq("create: frame src", fr.get("src"), "intake-1")
    eq("create: frame tier", fr.get("tier"), "c1")
    body = fr.get("body") or {}
    eq("create: frame body.ticket", body.get("ticket"), tid)
    eq("create: frame body.text", body.get("text"), "人民路路灯不亮，已经三天了")
    eq("create: frame body.address", body.get("address"), "北县城关镇人民路12号")
    eq("create: frame body.channel", body.get("channel"), "phone")
    eq("create: frame body.category", body.get("category"), "report")
    eq("create: frame body.township", body.get("township"), "bx.cgz")
    eq("create: frame body.created_at", body.get("created_at"), T0)

    ev = r.xrange(st.k("events"))
    eq("create: three events for three tickets", len(ev), 3)
    if ev:
        f = {s(a): s(b) for a, b in ev[0][1].items()}
        eq("create: event ticket", f.get("ticket"), tid)
        eq("create: event type", f.get("type"), "received")
        eq("create: event rev", f.get("rev"), "1")
        eq("create: event at", f.get("at"), str(T0))
        eq("create: event data", json.loads(f.get("data", "{}")), {"channel": "phone"})

    eq("create: in ix:all by creation time", st.score("ix", "all", tid), T0)
    eq("create: in ix:status:received", st.score("ix", "status", "received", tid), T0)
    eq("create: ix:all holds every ticket", r.zcard(st.k("ix", "all")), 3)
    eq("create: received counter", st.hash("stat").get("received"), "3")
    eq("create: idempotency key names the ticket", s(r.get(st.k("idem", "c:call-1"))), tid)
    ttl = r.ttl(st.k("idem", "c:call-1"))
    check("create: idempotency key kept 7 days", 604000 < ttl <= 604800, "ttl %r" % ttl)

    # the same key again, even with other fields and another time: same id, nothing written
    before = snapshot(r)
    keys_before = r.dbsize()
    xlen_before = r.xlen(st.k("events"))
    rep2 = st.create("c:call-1", T0 + 5000, text="另一件事")
    eq("create again: same id", s(rep2[0]), tid)
    eq("create again: created=0", rep2[1], 0)
    eq("create again: no frame", rep2[2], b"")
    eq("create again: key count unchanged", r.dbsize(), keys_before)
    eq("create again: event stream unchanged", r.xlen(st.k("events")), xlen_before)
    same_snapshot("create again: nothing written", before, snapshot(r))

    # another tier counts on its own
    eq("create: another tier starts at 1", s(Store(r, "c2").create("c:call-1")[0]),
       "BX-20260101-000001")


# ---------------------------------------------------------------------------------------------
# ticket_dispatch


def test_dispatch(r):
    st = Store(r, "d1")
    tid = created_ticket(st, "c:d-1")
    mid = tid + ":created"
    now = T0 + 200
    rep = st.dispatch(mid, now, decision(tid, "bx.zjj", ["bx.sw"]))
    eq("dispatch: applied", rep[0], 1)
    h = st.hash("t", tid)
    eq("dispatch: status", h.get("status"), "dispatched")
    eq("dispatch: rev", h.get("rev"), "2")
    eq("dispatch: unit", h.get("unit"), "bx.zjj")
    eq("dispatch: urgency", h.get("urgency"), "urgent")
    eq("dispatch: dispatched_at", h.get("dispatched_at"), str(now))
    eq("dispatch: co_units", json.loads(h.get("co_units", "null")), ["bx.sw"])
    eq("dispatch: in ix:unit of the lead", st.score("ix", "unit", "bx.zjj", tid), T0)
    eq("dispatch: in ix:status:dispatched", st.score("ix", "status", "dispatched", tid), T0)
    eq("dispatch: out of ix:status:received", st.score("ix", "status", "received", tid), None)
    eq("dispatch: router outbox record removed", st.score("ob", "router", mid), None)
    eq("dispatch: router frame removed", r.hexists(st.k("ob", "router", "m"), mid), False)

    wid = tid + ":dispatched:2"
    eq("dispatch: watcher outbox record", st.score("ob", "watcher", wid), now + REDELIVER)
    eq("dispatch: watcher frame is the one returned", r.hget(st.k("ob", "watcher", "m"), wid),
       rep[1])
    wf = unpack(rep[1]) if rep[1] else {}
    eq("dispatch: watcher frame type", wf.get("type"), "ticket.dispatched")
    eq("dispatch: watcher frame id", wf.get("id"), wid)
    wb = wf.get("body") or {}
    eq("dispatch: watcher body.ticket", wb.get("ticket"), tid)
    eq("dispatch: watcher body.unit", wb.get("unit"), "bx.zjj")
    eq("dispatch: watcher body.urgency", wb.get("urgency"), "urgent")
    eq("dispatch: watcher body.dispatched_at", wb.get("dispatched_at"), now)

    nf = unpack(rep[2]) if rep[2] else {}
    nid = nf.get("id", "")
    eq("dispatch: notify frame type", nf.get("type"), "notify")
    check("dispatch: notification id names the ticket, unit and revision",
          nid.startswith(tid + ":") and ":bx.zjj:" in nid and nid.endswith(":2"), nid)
    eq("dispatch: notifier outbox record", st.score("ob", "notifier", nid), now + REDELIVER)
    eq("dispatch: notifier frame is the one returned", r.hget(st.k("ob", "notifier", "m"), nid),
       rep[2])
    nb = nf.get("body") or {}
    eq("dispatch: notify body.kind", nb.get("kind"), "unit.new_order")
    eq("dispatch: notify body.target", nb.get("target"), "bx.zjj")
    eq("dispatch: notify body.nid", nb.get("nid"), nid)
    eq("dispatch: notify body.ticket", nb.get("ticket"), tid)
    notes = st.notes(tid)
    rec = notes.get(nid, {})
    eq("dispatch: notification on the ticket is pending", rec.get("state"), "pending")
    eq("dispatch: notification attempts", rec.get("attempts"), 0)
    eq("dispatch: notification target", rec.get("target"), "bx.zjj")
    co = [n for n, v in notes.items() if v.get("target") == "bx.sw"]
    check("dispatch: the co-handler is notified too",
          len(co) == 1 and st.score("ob", "notifier", co[0]) is not None,
          "notifications %s" % sorted(notes))
    tl = st.timeline(tid)
    eq("dispatch: timeline entry", tl[-1].get("what") if tl else None, "dispatched")
    eq("dispatch: timeline unit", tl[-1].get("unit") if tl else None, "bx.zjj")
    ev = r.xrange(st.k("events"))
    last = {s(a): s(b) for a, b in ev[-1][1].items()} if ev else {}
    eq("dispatch: event type", last.get("type"), "dispatched")
    eq("dispatch: event rev", last.get("rev"), "2")
    eq("dispatch: dispatched counter", st.hash("stat").get("dispatched"), "1")

    # the same message again: nothing changes
    before = snapshot(r)
    rep2 = st.dispatch(mid, now + 1000, decision(tid, "bx.other"))
    eq("dispatch again: returns {0}", rep2, [0])
    same_snapshot("dispatch again: nothing changes", before, snapshot(r))

    # a message id not in the outbox: nothing changes, the ticket stays received
    tid2 = created_ticket(st, "c:d-2", T0 + 10)
    before = snapshot(r)
    rep3 = st.dispatch(tid2 + ":bogus", now, decision(tid2))
    eq("dispatch unknown message: returns {0}", rep3, [0])
    same_snapshot("dispatch unknown message: nothing changes", before, snapshot(r))
    eq("dispatch unknown message: ticket still received", st.hash("t", tid2).get("status"),
       "received")

    # manual: the dispatch queue, pending_dispatch, the dispatcher is told
    tid3 = created_ticket(st, "c:d-3", T0 + 20)
    d = decision(tid3, "", manual=True, urgency="normal")
    d["why"] = "low confidence"
    rep4 = st.dispatch(tid3 + ":created", now, d)
    eq("manual: applied", rep4[0] if rep4 else None, 1)
    eq("manual: no watcher frame", rep4[1] if len(rep4) > 1 else None, b"")
    h = st.hash("t", tid3)
    eq("manual: status pending_dispatch", h.get("status"), "pending_dispatch")
    eq("manual: rev", h.get("rev"), "2")
    check("manual: no unit", not h.get("unit"), repr(h.get("unit")))
    eq("manual: in the manual queue", st.score("q", "manual", tid3), now)
    eq("manual: in ix:status:pending_dispatch",
       st.score("ix", "status", "pending_dispatch", tid3), T0 + 20)
    eq("manual: out of ix:status:received", st.score("ix", "status", "received", tid3), None)
    eq("manual: router outbox record removed", st.score("ob", "router", tid3 + ":created"), None)
    check("manual: no watcher record",
          not any(s(m).startswith(tid3) for m in r.zrange(st.k("ob", "watcher"), 0, -1)))
    mf = unpack(rep4[2]) if len(rep4) > 2 and rep4[2] else {}
    mnid = mf.get("id", "")
    eq("manual: dispatcher notification in the outbox", st.score("ob", "notifier", mnid),
       now + REDELIVER)
    mb = mf.get("body") or {}
    eq("manual: notify kind", mb.get("kind"), "dispatch.manual")
    eq("manual: notify target", mb.get("target"), "dispatcher")
    mrec = st.notes(tid3).get(mnid, {})
    eq("manual: notification on the ticket", (mrec.get("state"), mrec.get("target")),
       ("pending", "dispatcher"))
    tl = st.timeline(tid3)
    eq("manual: timeline entry", tl[-1].get("what") if tl else None, "pending_dispatch")
    eq("manual: candidates kept on the ticket",
       [c.get("unit") for c in json.loads(h.get("route_candidates", "[]"))], ["", "bx.sw"])
    eq("manual: counter", st.hash("stat").get("manual"), "1")
    before = snapshot(r)
    eq("manual again: returns {0}", st.dispatch(tid3 + ":created", now + 5, d), [0])
    same_snapshot("manual again: nothing changes", before, snapshot(r))


def test_summary_utf8(r):
    """A notification's summary is cut from the caller's Chinese text: it must stay UTF-8."""
    st = Store(r, "u1")
    text = "A" + "路灯不亮" * 60  # 1 + 720 bytes: a cut at byte 300 splits a character
    bug = ("ticket_dispatch (dispatch_to and the manual branch): summary = string.sub(text, 1, "
           "300) cuts bytes, not characters; for text 'A' + 60 x '路灯不亮' the summary ends in "
           "2 bytes of a 3-byte character, so the notify frame holds invalid UTF-8 and "
           "proto's decoder (and the notifier) refuse the whole frame")
    for manual in (False, True):
        tid = created_ticket(st, "c:u-%d" % manual, T0, text=text)
        d = decision(tid, manual=manual)
        rep = st.dispatch(tid + ":created", T0 + 1, d)
        nf = rep[2] if len(rep) > 2 else b""
        body = msgpack.unpackb(nf, raw=True, strict_map_key=False).get(b"body", {}) if nf else {}
        summary = body.get(b"summary", b"")
        try:
            summary.decode("utf-8")
            ok = True
        except UnicodeDecodeError:
            ok = False
        check("%s: notification summary is valid UTF-8" % ("manual" if manual else "dispatch"),
              ok, "summary ends with %r" % summary[-4:], bug)
        check("%s: summary is a prefix of the text" % ("manual" if manual else "dispatch"),
              len(summary) > 0 and text.encode().startswith(summary), "%d bytes" % len(summary))


# ---------------------------------------------------------------------------------------------
# clocks_start, clocks_claim, clock_fire


def test_clocks(r):
    st = Store(r, "k1")
    tid, _ = dispatched_ticket(st, "c:k-1")
    wid = tid + ":dispatched:2"
    clocks = {"ack": T0 + 1000, "reply": T0 + 10000, "close": T0 + 100000,
              "ack_span": "1 working hour", "provisional": 0}
    rep = st.fcall("clocks_start", wid, T0 + 300, "watcher-1", tid, json.dumps(clocks), REDELIVER)
    eq("clocks_start: applied", rep[:1], [1])
    h = st.hash("t", tid)
    eq("clocks_start: ack due", h.get("ack_due"), str(T0 + 1000))
    eq("clocks_start: ack running", h.get("ack_state"), "running")
    eq("clocks_start: ack span", h.get("ack_span"), "1 working hour")
    eq("clocks_start: close running", h.get("close_state"), "running")
    members = {s(m): int(v) for m, v in r.zrange(st.k("clk"), 0, -1, withscores=True)}
    eq("clocks_start: three clocks", members,
       {tid + "|ack|due": T0 + 1000, tid + "|reply|due": T0 + 10000,
        tid + "|close|due": T0 + 100000})
    eq("clocks_start: watcher outbox record removed", st.score("ob", "watcher", wid), None)
    tl = st.timeline(tid)
    eq("clocks_start: timeline entry", tl[-1].get("what") if tl else None, "clocks_started")
    before = snapshot(r)
    eq("clocks_start again: returns {0}",
       st.fcall("clocks_start", wid, T0 + 400, "watcher-1", tid, json.dumps(clocks), REDELIVER),
       [0])
    same_snapshot("clocks_start again: nothing changes", before, snapshot(r))

    ack = tid + "|ack|due"
    lease = 5000
    before = snapshot(r)
    eq("claim before any clock is due: nothing", st.fcall("clocks_claim", T0 + 999, lease, 10), [])
    same_snapshot("claim before any clock is due: nothing changes", before, snapshot(r))

    t1 = T0 + 1000
    got = st.fcall("clocks_claim", t1, lease, 10)
    eq("claim: only the due clock, with its due time", [s(x) for x in got], [ack, str(T0 + 1000)])
    eq("claim: leased (score = now + lease)", st.score("clk", ack), t1 + lease)
    eq("claim: future clock untouched", st.score("clk", tid + "|reply|due"), T0 + 10000)
    eq("claim during the lease: nothing", st.fcall("clocks_claim", t1 + lease - 1, lease, 10), [])
    got = st.fcall("clocks_claim", t1 + lease, lease, 10)
    eq("claim after the lease: the clock again", [s(x) for x in got][:1], [ack])
    eq("claim after the lease: leased again", st.score("clk", ack), t1 + 2 * lease)

    # max bounds a claim; the rest stays for the next one
    st2 = Store(r, "k2")
    for i in range(3):
        r.zadd(st2.k("clk"), {"BX-20260101-00000%d|ack|due" % (i + 1): T0 + i})
    got = st2.fcall("clocks_claim", T0 + 10, 1000, 2)
    eq("claim max 2 of 3 due: two", len(got), 4)
    eq("claim max: the third is still due", st2.score("clk", "BX-20260101-000003|ack|due"), T0 + 2)

    # fire
    tf = t1 + lease + 10
    before_notes = st.notes(tid)
    rep = st.fcall("clock_fire", ack, tf, "watcher-1", REDELIVER)
    eq("fire: applied", rep[0] if rep else None, 1)
    h = st.hash("t", tid)
    eq("fire: ack overdue", h.get("ack_state"), "overdue")
    eq("fire: reply still running", h.get("reply_state"), "running")
    eq("fire: clock removed", st.score("clk", ack), None)
    new = {k: v for k, v in st.notes(tid).items() if k not in before_notes}
    eq("fire: one notification", [v.get("kind") for v in new.values()], ["deadline.due"])
    dnid = unpack(rep[1]).get("id") if len(rep) > 1 and rep[1] else None
    eq("fire: the notification is the frame returned", list(new), [dnid])
    eq("fire: notification to the unit", new.get(dnid, {}).get("target"), "bx.zjj")
    eq("fire: notifier outbox record", st.score("ob", "notifier", dnid), tf + REDELIVER)
    nb = (unpack(rep[1]).get("body") or {}) if len(rep) > 1 and rep[1] else {}
    eq("fire: frame stage and due", (nb.get("stage"), nb.get("due_at")), ("ack", T0 + 1000))
    tl = st.timeline(tid)
    last = tl[-1] if tl else {}
    eq("fire: timeline", (last.get("what"), last.get("stage"), last.get("late_ms")),
       ("deadline.due", "ack", tf - (T0 + 1000)))
    eq("fire: counter", st.hash("stat").get("overdue_ack"), "1")
    before = snapshot(r)
    eq("fire again: returns {0}", st.fcall("clock_fire", ack, tf + 1, "watcher-2", REDELIVER), [0])
    same_snapshot("fire again: nothing changes", before, snapshot(r))
    # a stale copy of the clock (e.g. written back by a slow watcher) fires nothing either
    r.zadd(st.k("clk"), {ack: T0 + 1000})
    notes_before = st.notes(tid)
    eq("fire a stale clock of an overdue stage: returns {0}",
       st.fcall("clock_fire", ack, tf + 2, "watcher-2", REDELIVER), [0])
    eq("fire a stale clock: no new notification", st.notes(tid), notes_before)
    overdue = [e for e in st.timeline(tid) if e.get("what") == "deadline.due"]
    eq("fire: marked overdue once", len(overdue), 1)


# ---------------------------------------------------------------------------------------------
# outbox_claim


def test_outbox_claim(r):
    st = Store(r, "o1")
    rep = st.create("c:o-1")
    tid, frame = s(rep[0]), rep[2]
    mid = tid + ":created"
    due = T0 + REDELIVER
    lease, maxd = 1000, 3
    before = snapshot(r)
    eq("outbox_claim before due: nothing", st.fcall("outbox_claim", "router", due - 1, lease, 10,
                                                    maxd), [0])
    same_snapshot("outbox_claim before due: nothing changes", before, snapshot(r))
    now = due
    for i in range(1, maxd + 1):
        got = st.fcall("outbox_claim", "router", now, lease, 10, maxd)
        eq("outbox_claim #%d: returns the frame" % i, got, [0, frame])
        eq("outbox_claim #%d: leased" % i, st.score("ob", "router", mid), now + lease)
        eq("outbox_claim #%d: deliveries counted" % i,
           s(r.hget(st.k("ob", "router", "n"), mid)), str(i))
        eq("outbox_claim #%d: hidden during the lease" % i,
           st.fcall("outbox_claim", "router", now + lease - 1, lease, 10, maxd), [0])
        now += lease
    got = st.fcall("outbox_claim", "router", now, lease, 10, maxd)
    eq("outbox_claim after max deliveries: one dead letter, no frame", got, [1])
    dl = r.hget(st.k("dl", "router"), mid)
    rec = json.loads(dl) if dl else {}
    check("dead letter recorded", dl is not None)
    eq("dead letter attempts", rec.get("attempts"), maxd)
    check("dead letter has an error", bool(rec.get("error")), repr(rec))
    eq("dead letter at", rec.get("at"), now)
    eq("dead letter names its ticket", rec.get("ticket"), tid,
       bug="outbox_claim writes the dead letter as {error, attempts, at} without 'ticket', but "
           "the header's key list says {T}:dl:STAGE holds {error, attempts, at, ticket} "
           "(notify_result's dead letters have it); an operator cannot tell which order a "
           "router/watcher dead letter belongs to without decoding the frame")
    eq("dead letter keeps the frame", r.hget(st.k("dl", "router", "m"), mid), frame)
    eq("dead letter left the outbox", st.score("ob", "router", mid), None)
    for sub in ("m", "n", "e"):
        eq("dead letter left the outbox's %s hash" % sub,
           r.hexists(st.k("ob", "router", sub), mid), False)
    eq("dead letter: the ticket is untouched", st.hash("t", tid).get("status"), "received")
    eq("outbox_claim after the dead letter: nothing",
       st.fcall("outbox_claim", "router", now + 10 * lease, lease, 10, maxd), [0])

    # max bounds a claim
    st2 = Store(r, "o2")
    frames = [st2.create("c:o2-%d" % i, T0 + i)[2] for i in range(3)]
    got = st2.fcall("outbox_claim", "router", T0 + REDELIVER + 10, lease, 2, maxd)
    eq("outbox_claim max 2: the two oldest", got, [0, frames[0], frames[1]])

    # a notification dead-lettered by redelivery must show as dead on its ticket
    st3 = Store(r, "o3")
    tid3, nid = dispatched_ticket(st3, "c:o3")
    now = T0 + 100 + REDELIVER
    for _ in range(2):
        st3.fcall("outbox_claim", "notifier", now, lease, 10, 1)
        now += lease
    check("notifier dead letter by outbox_claim", r.hexists(st3.k("dl", "notifier"), nid))
    eq("notifier dead letter by outbox_claim: shown dead on the ticket",
       st3.notes(tid3).get(nid, {}).get("state"), "dead",
       bug="outbox_claim on stage 'notifier' (which the notifier runs for redelivery) moves a "
           "record past max_deliveries to {T}:dl:notifier but leaves {T}:t:ID:nt[nid] in state "
           "'pending' with no timeline entry, unlike notify_result's dead path: the order shows "
           "a notification waiting forever that will never be sent")


# ---------------------------------------------------------------------------------------------
# notify_lease, notify_result


def test_notify(r):
    st = Store(r, "n1")
    tid, nid = dispatched_ticket(st, "c:n-1")
    due = T0 + 100 + REDELIVER
    lease = 30000
    eq("lease: pending one 1, unknown one 0",
       st.fcall("notify_lease", T0 + 200, lease, "notifier-1", nid, "no-such-nid"), [1, 0])
    eq("lease: hidden until now + lease", st.score("ob", "notifier", nid), T0 + 200 + lease)
    eq("lease: another instance cannot take it while leased",
       st.fcall("notify_lease", T0 + 300, lease, "notifier-2", nid), [0])
    eq("lease: the holder may renew it",
       st.fcall("notify_lease", T0 + 300, lease, "notifier-1", nid), [1])
    r.zadd(st.k("ob", "notifier"), {nid: T0 + 200 + lease}, xx=True)
    eq("lease: redelivery does not take it while leased",
       st.fcall("outbox_claim", "notifier", due, 1000, 10, 5), [0])
    got = st.fcall("outbox_claim", "notifier", T0 + 200 + lease, 1000, 10, 5)
    eq("lease: after the lease redelivery takes it", len(got), 2)

    # delivered
    tn = T0 + 40000
    rep = st.fcall("notify_result", nid, tn, "notifier-1", tid, "1", "200", "",
                   "1000,2000,4000", "3", "http://127.0.0.1:9/hook")
    eq("delivered: state", rep, [b"delivered"])
    eq("delivered: out of the outbox", st.score("ob", "notifier", nid), None)
    for sub in ("m", "n", "e"):
        eq("delivered: out of the outbox's %s hash" % sub,
           r.hexists(st.k("ob", "notifier", sub), nid), False)
    rec = st.notes(tid).get(nid, {})
    eq("delivered: record state", rec.get("state"), "delivered")
    eq("delivered: attempts", rec.get("attempts"), 1)
    eq("delivered: delivered_at", rec.get("delivered_at"), tn)
    eq("delivered: http status", rec.get("last_status"), 200)
    eq("delivered: endpoint", rec.get("endpoint"), "http://127.0.0.1:9/hook")
    tl = st.timeline(tid)
    eq("delivered: timeline", (tl[-1].get("what"), tl[-1].get("nid")) if tl else None,
       ("notified", nid))
    before = snapshot(r)
    eq("delivered again: gone", st.fcall("notify_result", nid, tn + 1, "notifier-2", tid, "1",
                                         "200", "", "1000", "3", "x"), [b"gone"])
    same_snapshot("delivered again: nothing changes", before, snapshot(r))
    eq("lease of a delivered one: 0",
       st.fcall("notify_lease", tn + 2, lease, "notifier-1", nid), [0])

    # failures: retried after the wait for that attempt, then a dead letter
    st2 = Store(r, "n2")
    tid2, nid2 = dispatched_ticket(st2, "c:n-2")
    frame2 = r.hget(st2.k("ob", "notifier", "m"), nid2)
    waits = "1000,2000,4000"
    t = T0 + 1000
    for attempt, wait in ((1, 1000), (2, 2000)):
        err = "HTTP 503 from receiver (attempt %d)" % attempt
        rep = st2.fcall("notify_result", nid2, t, "notifier-1", tid2, "0", "503", err, waits,
                        "3", "http://127.0.0.1:9/hook")
        eq("failed #%d: retrying" % attempt, rep, [b"retrying"])
        eq("failed #%d: rescheduled after its wait" % attempt, st2.score("ob", "notifier", nid2),
           t + wait)
        eq("failed #%d: last error kept for redelivery" % attempt,
           s(r.hget(st2.k("ob", "notifier", "e"), nid2)), err)
        rec = st2.notes(tid2).get(nid2, {})
        eq("failed #%d: record" % attempt,
           (rec.get("state"), rec.get("attempts"), rec.get("last_error"),
            rec.get("next_attempt_at")), ("retrying", attempt, err, t + wait))
        t += wait
    last_err = "HTTP 500 from receiver (attempt 3)"
    rep = st2.fcall("notify_result", nid2, t, "notifier-1", tid2, "0", "500", last_err, waits,
                    "3", "http://127.0.0.1:9/hook")
    eq("failed #3 of 3: dead", rep, [b"dead"])
    dl = r.hget(st2.k("dl", "notifier"), nid2)
    rec = json.loads(dl) if dl else {}
    eq("dead: dead letter with the last error",
       (rec.get("error"), rec.get("attempts"), rec.get("ticket")), (last_err, 3, tid2))
    eq("dead: frame kept", r.hget(st2.k("dl", "notifier", "m"), nid2), frame2)
    eq("dead: out of the outbox", st2.score("ob", "notifier", nid2), None)
    eq("dead: outbox error removed", r.hexists(st2.k("ob", "notifier", "e"), nid2), False)
    rec = st2.notes(tid2).get(nid2, {})
    eq("dead: record on the ticket", (rec.get("state"), rec.get("attempts"), rec.get("last_error")),
       ("dead", 3, last_err))
    tl = st2.timeline(tid2)
    eq("dead: timeline", (tl[-1].get("what"), tl[-1].get("nid"), tl[-1].get("note")) if tl
       else None, ("notification_dead", nid2, last_err))
    before = snapshot(r)
    eq("dead again: gone", st2.fcall("notify_result", nid2, t + 1, "notifier-1", tid2, "0", "500",
                                     "x", waits, "3", "y"), [b"gone"])
    same_snapshot("dead again: nothing changes", before, snapshot(r))

    # more attempts than listed waits: the last wait repeats
    st3 = Store(r, "n3")
    tid3, nid3 = dispatched_ticket(st3, "c:n-3")
    t = T0 + 1000
    for attempt in range(1, 4):
        st3.fcall("notify_result", nid3, t, "notifier-1", tid3, "0", "0", "timeout", "1000,2000",
                  "9", "u")
    eq("failed past the listed waits: the last wait again", st3.score("ob", "notifier", nid3),
       t + 2000)


# ---------------------------------------------------------------------------------------------
# ticket_get, ticket_list


def rows(rep):
    """ticket_list's reply as (total, [row, ...]) with rows of 7 strings."""
    flat = [s(x) for x in rep[1:]]
    return rep[0], [flat[i:i + 7] for i in range(0, len(flat), 7)]


def test_get_list(r):
    st = Store(r, "g1")
    tid, nid = dispatched_ticket(st, "c:g-0", T0)
    rep = st.fcall("ticket_get", tid)
    eq("get: three parts", len(rep), 3)
    h = {s(rep[0][i]): s(rep[0][i + 1]) for i in range(0, len(rep[0]), 2)}
    eq("get: fields", (h.get("id"), h.get("status"), h.get("unit")), (tid, "dispatched", "bx.zjj"))
    eq("get: timeline", [json.loads(e).get("what") for e in rep[1]], ["received", "dispatched"])
    nts = [s(rep[2][i]) for i in range(0, len(rep[2]), 2)]
    check("get: notifications", nid in nts, repr(nts))
    eq("get: no such ticket", st.fcall("ticket_get", "BX-20260101-999999"), [])

    # six more: three more for bx.zjj, one for bx.sw, one left received, one pending_dispatch
    ids = [tid]
    for i, unit in enumerate(["bx.zjj", "bx.zjj", "bx.sw", "bx.zjj"], start=1):
        ids.append(dispatched_ticket(st, "c:g-%d" % i, T0 + i * 1000, unit=unit)[0])
    ids.append(created_ticket(st, "c:g-5", T0 + 5000))
    tm = created_ticket(st, "c:g-6", T0 + 6000)
    st.dispatch(tm + ":created", T0 + 6100, decision(tm, manual=True))
    ids.append(tm)
    # a later transition of another library function, written directly: ids[2] is replied
    r.hset(st.k("t", ids[2]), "status", "replied")

    total, page = rows(st.fcall("ticket_list", "all", 0, 3, ""))
    eq("list all: total", total, 7)
    eq("list all: first page newest first", [p[0] for p in page], [ids[6], ids[5], ids[4]])
    eq("list all: row columns", page[0][:2] + page[0][4:6], [ids[6], "pending_dispatch",
                                                             str(T0 + 6000), "13800138000"])
    total, page = rows(st.fcall("ticket_list", "all", 3, 3, ""))
    eq("list all: second page", [p[0] for p in page], [ids[3], ids[2], ids[1]])
    total, page = rows(st.fcall("ticket_list", "all", 6, 3, ""))
    eq("list all: last page", [p[0] for p in page], [ids[0]])
    total, page = rows(st.fcall("ticket_list", "all", 9, 3, ""))
    eq("list all: past the end", (total, page), (7, []))

    total, page = rows(st.fcall("ticket_list", "unit:bx.zjj", 0, 10, ""))
    eq("list unit: all of the unit's", (total, [p[0] for p in page]),
       (4, [ids[4], ids[2], ids[1], ids[0]]))
    total, page = rows(st.fcall("ticket_list", "unit:bx.zjj", 0, 10, "dispatched"))
    eq("list unit + status: only that status", (total, [p[0] for p in page]),
       (3, [ids[4], ids[1], ids[0]]))
    eq("list unit + status: row", page[0][1:4] if page else None,
       ["dispatched", "bx.zjj", "urgent"])
    total, page = rows(st.fcall("ticket_list", "unit:bx.zjj", 1, 1, "dispatched"))
    eq("list unit + status: paged", (total, [p[0] for p in page]), (3, [ids[1]]))
    total, page = rows(st.fcall("ticket_list", "unit:bx.zjj", 0, 10, "replied"))
    eq("list unit + status replied", (total, [p[0] for p in page]), (1, [ids[2]]))
    total, page = rows(st.fcall("ticket_list", "unit:bx.zjj", 0, 10, "closed"))
    eq("list unit + status none", (total, page), (0, []))
    total, page = rows(st.fcall("ticket_list", "status:received", 0, 10, ""))
    eq("list status index", (total, [p[0] for p in page]), (1, [ids[5]]))
    total, page = rows(st.fcall("ticket_list", "unit:bx.none", 0, 10, ""))
    eq("list empty unit", (total, page), (0, []))


# ---------------------------------------------------------------------------------------------


def main():
    tmp = tempfile.mkdtemp(prefix="rexian-store-")
    proc = None
    try:
        proc, r = start_server(tmp)
        cfg = r.config_get("append*")
        check("server: AOF on, fsync always",
              cfg.get("appendonly") == "yes" and cfg.get("appendfsync") == "always", repr(cfg))
        with open(LIBRARY, encoding="utf-8") as f:
            code = f.read()
        try:
            eq("library loads", s(r.execute_command("FUNCTION", "LOAD", "REPLACE", code)),
               "rexian")
        except redis.exceptions.ResponseError as e:
            check("library loads", False, str(e))
            raise SystemExit(1)
        for test in (test_create, test_dispatch, test_summary_utf8, test_clocks,
                     test_outbox_claim, test_notify, test_get_list):
            try:
                test(r)
            except Exception:
                check(test.__name__, False, "raised:\n" + traceback.format_exc())
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
