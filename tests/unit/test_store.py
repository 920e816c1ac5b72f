#!/usr/bin/python3
# test_store.py -- the ticket store's Redis functions (services/common/lua/rexian.lua) on a real
# redis-server
#
# Starts its own redis-server on a free loopback port in a temporary directory (AOF on, fsync
# always), loads the library with FUNCTION LOAD REPLACE and checks each function's outcome
# through the functions' replies and the keys the library's header lists. A check marked
# "KNOWN BUG" says, when it fails, what rexian.lua does wrong (function, input, outcome).
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
# clocks_set, clocks_claim, clock_fire, overdue_list, clock_sources and the clock side of
# ticket_step (pause, resume, extension, stop_clock)

UNIT_ACTOR = {"name": "zjj-clerk", "role": "unit", "unit": "bx.zjj"}
SUPERVISOR_ACTOR = {"name": "sup-1", "role": "supervisor"}


def stage(start, due, warn, esc, span):
    return {"start": start, "due": due, "warn": warn, "esc": esc, "span": span}


def standard_stages(t=T0):
    """ack, reply and close clocks started at t + 100, as the watcher plans them."""
    return {"ack": stage(t + 100, t + 1000, t + 800, t + 5000, "1wh"),
            "reply": stage(t + 100, t + 10000, t + 9000, t + 20000, "72h"),
            "close": stage(t + 100, t + 100000, t + 90000, t + 200000, "5wd")}


def set_clocks(st, tid, mid, now, stages, what="start", ret=None, provisional=0):
    c = {"what": what, "stages": stages, "provisional": provisional}
    if ret is not None:
        c["return"] = ret
    return st.fcall("clocks_set", mid, now, "watcher-1", tid, json.dumps(c), REDELIVER)


def clock_members(st, tid):
    """The ticket's members of {T}:clk -> score."""
    return {s(m): int(v) for m, v in st.r.zrange(st.k("clk"), 0, -1, withscores=True)
            if s(m).startswith(tid + "|")}


def fire(st, member, now):
    return st.fcall("clock_fire", member, now, "watcher-1", REDELIVER)


def step(st, now, actor, tid, name, body=None):
    return st.fcall("ticket_step", now, "intake-1", REDELIVER, json.dumps(actor), tid, name,
                    json.dumps(body or {}, ensure_ascii=False), json.dumps({"max_extensions": 1}))


def clocked_ticket(st, idem, stages=None, provisional=0):
    """A dispatched ticket whose clocks the watcher started: its id."""
    tid, _ = dispatched_ticket(st, idem)
    rep = set_clocks(st, tid, tid + ":dispatched:2", T0 + 300, stages or standard_stages(),
                     provisional=provisional)
    if not rep or rep[0] != 1:
        raise RuntimeError("clocks_set of %s failed: %r" % (tid, rep))
    return tid


def new_notes(st, tid, before):
    return {k: v for k, v in st.notes(tid).items() if k not in before}


def test_clocks_set(r):
    st = Store(r, "k1")
    tid, _ = dispatched_ticket(st, "c:k-1")
    wid = tid + ":dispatched:2"
    stages = standard_stages()
    rep = set_clocks(st, tid, wid, T0 + 300, stages, ret=T0 + 50000)
    eq("clocks_set: applied", rep[0] if rep else None, 1)
    h = st.hash("t", tid)
    for name, k in stages.items():
        for part in ("start", "due", "warn", "esc", "span"):
            eq("clocks_set: %s_%s" % (name, part), h.get("%s_%s" % (name, part)), str(k[part]))
        eq("clocks_set: %s running" % name, h.get(name + "_state"), "running")
        eq("clocks_set: %s light off" % name, h.get(name + "_light"), "")
    eq("clocks_set: return window", h.get("return_due"), str(T0 + 50000))
    eq("clocks_set: not provisional", h.get("clocks_provisional"), "0")
    want = {}
    for name, k in stages.items():
        for kind in ("warn", "due", "esc"):
            want["%s|%s|%s" % (tid, name, kind)] = k[kind]
    eq("clocks_set: a warn, due and esc clock per stage", clock_members(st, tid), want)
    eq("clocks_set: watcher outbox record removed", st.score("ob", "watcher", wid), None)
    tl = st.timeline(tid)
    last = tl[-1] if tl else {}
    eq("clocks_set: timeline", (last.get("what"), last.get("note"), last.get("ack_due"),
                                last.get("close_due")),
       ("clocks_started", "ack,close,reply", T0 + 1000, T0 + 100000))
    fr = unpack(rep[1]) if len(rep) > 1 and rep[1] else {}
    body = fr.get("body") or {}
    eq("clocks_set: the citizen hears when to expect a reply",
       (body.get("kind"), body.get("target"), body.get("due_at")),
       ("citizen.accepted", "citizen", T0 + 10000))
    eq("clocks_set: citizen notice in the notifier outbox",
       st.score("ob", "notifier", fr.get("id", "-")), T0 + 300 + REDELIVER)
    eq("clocks_set: not in the provisional set", r.sismember(st.k("provisional"), tid), False)

    before = snapshot(r)
    eq("clocks_set again (same message): returns {0}",
       set_clocks(st, tid, wid, T0 + 400, stages, ret=T0 + 50000), [0])
    same_snapshot("clocks_set again: nothing changes", before, snapshot(r))
    before = snapshot(r)
    eq("clocks_set for a ticket that does not exist: {0}",
       set_clocks(st, "BX-20260101-999999", "", T0 + 400, stages), [0])
    same_snapshot("clocks_set for no ticket: nothing written", before, snapshot(r))
    rep = set_clocks(st, tid, "", T0 + 500, {"reply": stage(T0 + 500, T0 + 11000, T0 + 9500,
                                                            T0 + 21000, "72h")})
    eq("clocks_set with a reply clock again: the citizen is not told twice", rep, [1])

    # a warning at or after the deadline is no warning: no warn clock
    rep = set_clocks(st, tid, "", T0 + 600, {"close": stage(T0 + 600, T0 + 70000, T0 + 70000,
                                                            T0 + 80000, "5wd")}, what="rearm")
    m = clock_members(st, tid)
    eq("clocks_set with warn == due: no warn clock, due and esc moved",
       (m.get(tid + "|close|warn"), m.get(tid + "|close|due"), m.get(tid + "|close|esc")),
       (None, T0 + 70000, T0 + 80000))
    eq("clocks_set rearm: timeline", st.timeline(tid)[-1].get("what"), "clock_rearmed")


def test_clock_fire(r):
    st = Store(r, "k2")
    tid = clocked_ticket(st, "c:k2-1")
    ackw, ackd, acke = tid + "|ack|warn", tid + "|ack|due", tid + "|ack|esc"
    lease = 100

    # claim
    before = snapshot(r)
    eq("claim before any clock is due: nothing", st.fcall("clocks_claim", T0 + 799, lease, 10), [])
    same_snapshot("claim before any clock is due: nothing changes", before, snapshot(r))
    got = st.fcall("clocks_claim", T0 + 800, lease, 10)
    eq("claim: only the due clock, with its time", [s(x) for x in got], [ackw, str(T0 + 800)])
    eq("claim: leased (score = now + lease)", st.score("clk", ackw), T0 + 800 + lease)
    eq("claim: later clocks untouched", st.score("clk", ackd), T0 + 1000)
    eq("claim during the lease: nothing", st.fcall("clocks_claim", T0 + 899, lease, 10), [])
    got = st.fcall("clocks_claim", T0 + 900, lease, 10)
    eq("claim after the lease: the clock again", [s(x) for x in got][:1], [ackw])
    st2 = Store(r, "k2b")
    for i in range(3):
        r.zadd(st2.k("clk"), {"BX-20260101-00000%d|ack|due" % (i + 1): T0 + i})
    got = st2.fcall("clocks_claim", T0 + 10, 1000, 2)
    eq("claim max 2 of 3 due: two", len(got), 4)
    eq("claim max: the third is still due", st2.score("clk", "BX-20260101-000003|ack|due"), T0 + 2)

    # warn: yellow, the unit is chased, once
    tw = T0 + 950
    notes0 = st.notes(tid)
    rep = fire(st, ackw, tw)
    eq("warn: applied", rep[0] if rep else None, 1)
    h = st.hash("t", tid)
    eq("warn: light yellow, still running", (h.get("ack_light"), h.get("ack_state")),
       ("yellow", "running"))
    eq("warn: clock removed", st.score("clk", ackw), None)
    new = new_notes(st, tid, notes0)
    wnid = "%s:deadline.warning:ack:%d" % (tid, T0 + 1000)
    eq("warn: one notification, named by ticket, kind, stage and due", list(new), [wnid])
    eq("warn: to the unit", (new.get(wnid, {}).get("kind"), new.get(wnid, {}).get("target")),
       ("deadline.warning", "bx.zjj"))
    eq("warn: notifier outbox record", st.score("ob", "notifier", wnid), tw + REDELIVER)
    nb = (unpack(rep[1]).get("body") or {}) if len(rep) > 1 else {}
    eq("warn: frame body", (nb.get("kind"), nb.get("stage"), nb.get("due_at"), nb.get("unit")),
       ("deadline.warning", "ack", T0 + 1000, "bx.zjj"))
    last = st.timeline(tid)[-1]
    eq("warn: timeline", (last.get("what"), last.get("stage"), last.get("due")),
       ("deadline.warning", "ack", T0 + 1000))
    before = snapshot(r)
    eq("warn again: {0}", fire(st, ackw, tw + 1), [0])
    same_snapshot("warn again: nothing changes", before, snapshot(r))
    r.zadd(st.k("clk"), {ackw: T0 + 800})
    notes1 = st.notes(tid)
    eq("a stale copy of a fired warning: {0}", fire(st, ackw, tw + 2), [0])
    eq("a stale copy of a fired warning: no second notice", st.notes(tid), notes1)

    # due: overdue, red, listed, the unit is told; late_ms on the timeline
    td = T0 + 1000 + 30
    rep = fire(st, ackd, td)
    eq("due: applied", rep[0] if rep else None, 1)
    h = st.hash("t", tid)
    eq("due: overdue and red", (h.get("ack_state"), h.get("ack_light")), ("overdue", "red"))
    eq("due: the reply clock still runs", h.get("reply_state"), "running")
    eq("due: in {T}:overdue by due time", st.score("overdue", tid + "|ack"), T0 + 1000)
    new = new_notes(st, tid, notes1)
    dnid = "%s:deadline.due:ack:%d" % (tid, T0 + 1000)
    eq("due: one notification to the unit",
       [(k, v.get("kind"), v.get("target")) for k, v in new.items()],
       [(dnid, "deadline.due", "bx.zjj")])
    last = st.timeline(tid)[-1]
    eq("due: timeline with how late", (last.get("what"), last.get("stage"), last.get("late_ms"),
                                       last.get("late")), ("deadline.due", "ack", 30, None))
    eq("due: counter", st.hash("stat").get("overdue_ack"), "1")
    before = snapshot(r)
    eq("due again: {0}", fire(st, ackd, td + 1), [0])
    same_snapshot("due again: nothing changes", before, snapshot(r))
    r.zadd(st.k("clk"), {ackd: T0 + 1000})
    notes2 = st.notes(tid)
    eq("a stale copy of a fired deadline: {0}", fire(st, ackd, td + 2), [0])
    eq("a stale copy of a fired deadline: no second notice", st.notes(tid), notes2)
    # a deadline fired after an outage says so
    late = 61000
    rep = fire(st, tid + "|reply|due", T0 + 10000 + late)
    last = st.timeline(tid)[-1]
    eq("due after an outage: late_ms and late", (last.get("what"), last.get("late_ms"),
                                                 last.get("late")), ("deadline.due", late, True))
    notes3 = st.notes(tid)
    eq("a warning due before an already fired deadline: {0}",
       fire(st, tid + "|reply|warn", T0 + 10000 + late + 1), [0])
    eq("a warning after the deadline: no notice", st.notes(tid), notes3)
    eq("a warning after the deadline: light stays red", st.hash("t", tid).get("reply_light"),
       "red")

    # esc: only when overdue, once: the supervisor and the unit
    te = T0 + 5000
    rep = fire(st, acke, te)
    eq("esc: applied with two notices", (rep[0] if rep else None, len(rep)), (1, 3))
    new = new_notes(st, tid, notes3)
    eq("esc: supervision notice to the supervisor and chase notice to the unit",
       sorted((v.get("kind"), v.get("target")) for v in new.values()),
       [("deadline.chase", "bx.zjj"), ("deadline.escalated", "supervisor")])
    eq("esc: escalated at", st.hash("t", tid).get("ack_escalated"), str(te))
    eq("esc: counter", st.hash("stat").get("escalated_ack"), "1")
    eq("esc: timeline", st.timeline(tid)[-1].get("what"), "deadline.escalated")
    before = snapshot(r)
    eq("esc again: {0}", fire(st, acke, te + 1), [0])
    same_snapshot("esc again: nothing changes", before, snapshot(r))
    r.zadd(st.k("clk"), {acke: T0 + 5000})
    notes4 = st.notes(tid)
    eq("a stale copy of a fired escalation: {0}", fire(st, acke, te + 2), [0])
    eq("a stale copy of a fired escalation: no second notice", st.notes(tid), notes4)
    eq("a malformed member: {0}", fire(st, "no-bars", te), [0])

    # An escalation reached before its deadline fired (two watchers claim different clocks, or
    # the deadline's lease outlived a crashed watcher): nothing now, but it must not be lost.
    closee = tid + "|close|esc"
    eq("esc while the stage still runs: {0}", fire(st, closee, T0 + 200000), [0])
    eq("esc while running: no notice", st.notes(tid), notes4)
    fire(st, tid + "|close|due", T0 + 200001)
    # the escalation was put back a second later, after the deadline
    got = [s(x) for x in st.fcall("clocks_claim", T0 + 201000, lease, 10)]
    rep = fire(st, closee, T0 + 201000) if closee in got else [0]
    check("esc reached before its deadline fired: the stage still escalates once the deadline "
          "has fired", rep[:1] == [1], "claimed %r" % got,
          bug="clock_fire ZREMs the member before looking at the stage; for kind 'esc' with the "
              "stage still 'running' it returns {0} with the member gone, so the stage is never "
              "escalated (input: clock_fire(ID|close|esc) before clock_fire(ID|close|due), which "
              "happens when two watchers fire one order's clocks or a crashed watcher's lease on "
              "the due clock ends after the esc clock was fired; outcome: no "
              "deadline.escalated ever)")


def test_clock_steps(r):
    st = Store(r, "k3")

    # -- stop_clock: an acknowledgement ends the ack clock, overdue or not ---------------------
    tb = clocked_ticket(st, "c:k3-b")
    fire(st, tb + "|ack|due", T0 + 1500)
    eq("overdue before ack", st.score("overdue", tb + "|ack"), T0 + 1000)
    rep = step(st, T0 + 2000, UNIT_ACTOR, tb, "ack")
    eq("ack: applied", rep[:2] if rep else None, [1, b"acknowledged"])
    h = st.hash("t", tb)
    eq("ack after the deadline: late, done at", (h.get("ack_state"), h.get("ack_done_at")),
       ("late", str(T0 + 2000)))
    eq("ack: the ack clocks are gone, the others stay",
       sorted(m.split("|", 1)[1] for m in clock_members(st, tb)),
       ["close|due", "close|esc", "close|warn", "reply|due", "reply|esc", "reply|warn"])
    eq("ack: off the overdue list", st.score("overdue", tb + "|ack"), None)
    notes = st.notes(tb)
    r.zadd(st.k("clk"), {tb + "|ack|warn": T0 + 800, tb + "|ack|esc": T0 + 5000})
    eq("a warning after the stage was completed: {0}", fire(st, tb + "|ack|warn", T0 + 2100), [0])
    eq("an escalation after the stage was completed: {0}",
       fire(st, tb + "|ack|esc", T0 + 5100), [0])
    eq("after completion: no notice", st.notes(tb), notes)
    eq("after completion: light unchanged", st.hash("t", tb).get("ack_light"), "red")

    tc = clocked_ticket(st, "c:k3-c")
    step(st, T0 + 500, UNIT_ACTOR, tc, "ack")
    eq("ack before the deadline: met", st.hash("t", tc).get("ack_state"), "met")
    r.zadd(st.k("clk"), {tc + "|ack|warn": T0 + 800})
    notes = st.notes(tc)
    eq("a warning after an acknowledgement in time: {0}", fire(st, tc + "|ack|warn", T0 + 800),
       [0])
    eq("a warning after an acknowledgement in time: nothing",
       (st.notes(tc), st.hash("t", tc).get("ack_light")), (notes, ""))

    # -- pause and resume: the clocks stop, then move by exactly the time paused ---------------
    ta = clocked_ticket(st, "c:k3-a")
    fire(st, ta + "|ack|warn", T0 + 850)  # ack is yellow: its warning does not come back
    h0 = st.hash("t", ta)
    tp = T0 + 900
    rep = step(st, tp, UNIT_ACTOR, ta, "pause", {"reason": "等待市民补充材料"})
    eq("pause: applied", rep[0] if rep else None, 1)
    h = st.hash("t", ta)
    eq("pause: every running stage paused",
       [(h.get(x + "_state"), h.get(x + "_paused_from")) for x in ("ack", "reply", "close")],
       [("paused", "running")] * 3)
    eq("pause: no clock of the order left", clock_members(st, ta), {})
    eq("pause: when and why", (h.get("paused_at"), h.get("pause_reason")),
       (str(tp), "等待市民补充材料"))
    rep = step(st, tp + 1, UNIT_ACTOR, ta, "pause", {"reason": "again"})
    eq("pause twice: 409", rep[:2] if rep else None, [0, 409])
    d = 7000
    rep = step(st, tp + d, UNIT_ACTOR, ta, "resume", {"note": "材料已补齐"})
    eq("resume: applied", rep[0] if rep else None, 1)
    h = st.hash("t", ta)
    for x in ("ack", "reply", "close"):
        eq("resume: %s due, warn and esc move by the time paused" % x,
           [int(h.get("%s_%s" % (x, p), 0)) - int(h0.get("%s_%s" % (x, p), 0))
            for p in ("due", "warn", "esc")], [d, d, d])
        eq("resume: %s running again" % x, h.get(x + "_state"), "running")
    want = {}
    for x in ("ack", "reply", "close"):
        for kind in ("due", "esc") if x == "ack" else ("warn", "due", "esc"):
            want["%s|%s|%s" % (ta, x, kind)] = int(h0["%s_%s" % (x, kind)]) + d
    eq("resume: the clocks are back, moved (a warning already given is not)",
       clock_members(st, ta), want)
    eq("resume: paused_ms recorded, pause ended", (h.get("paused_ms"), h.get("paused_at")),
       (str(d), ""))
    last = st.timeline(ta)[-1]
    eq("resume: timeline", (last.get("what"), last.get("paused_ms")), ("resume", d))
    rep = step(st, tp + d + 1, UNIT_ACTOR, ta, "resume", {})
    eq("resume when not paused: 409", rep[:2] if rep else None, [0, 409])
    # an overdue stage stays overdue across a pause; its escalation moves
    fire(st, ta + "|ack|due", T0 + 1000 + d)
    h1 = st.hash("t", ta)
    step(st, T0 + 20000, UNIT_ACTOR, ta, "pause", {"reason": "等待"})
    step(st, T0 + 23000, UNIT_ACTOR, ta, "resume", {})
    h = st.hash("t", ta)
    m = clock_members(st, ta)
    eq("pause and resume of an overdue stage: still overdue, no new deadline clock, "
       "escalation moved",
       (h.get("ack_state"), m.get(ta + "|ack|due"), m.get(ta + "|ack|esc")),
       ("overdue", None, int(h1["ack_esc"]) + 3000))
    eq("two pauses: paused_ms adds up", h.get("paused_ms"), str(d + 3000))

    # a stage completed while paused is judged on the time that counted, not the wall clock
    tq = clocked_ticket(st, "c:k3-q")
    step(st, T0 + 900, UNIT_ACTOR, tq, "pause", {"reason": "等待市民补充材料"})
    step(st, T0 + 1500, UNIT_ACTOR, tq, "ack")  # 800 ms of a 900 ms clock counted
    eq("ack during a pause, within the time that counted: met",
       st.hash("t", tq).get("ack_state"), "met",
       bug="stop_clock compares now with the stored _due, which a pause has not moved yet; "
           "input: ack clock start T0+100, due T0+1000, pause at T0+900, ack at T0+1500 (800 ms "
           "counted); outcome: ack_state 'late', so the unit's on-time acknowledgement rate "
           "counts the time the clock was stopped")

    # -- an approved extension re-arms the close clock ------------------------------------------
    te = clocked_ticket(st, "c:k3-e")
    fire(st, te + "|close|warn", T0 + 90000)
    eq("extension: yellow before", st.hash("t", te).get("close_light"), "yellow")
    until = T0 + 500000
    rep = step(st, T0 + 91000, UNIT_ACTOR, te, "extend", {"until": until, "reason": "需要采购灯具"})
    eq("extend: applied", rep[0] if rep else None, 1)
    rep = step(st, T0 + 92000, SUPERVISOR_ACTOR, te, "decide-extension",
               {"decision": "approve", "reason": "同意"})
    eq("decide-extension: applied", rep[0] if rep else None, 1)
    frames = {s(rep[i]): rep[i + 1] for i in range(4, len(rep) - 1, 2)} if rep else {}
    wf = unpack(frames["watcher"]) if "watcher" in frames else {}
    wb = wf.get("body") or {}
    eq("decide-extension: asks the watcher for the close clock at the new due",
       (wf.get("type"), wb.get("stages"), wb.get("due")), ("clock.start", ["close"], until))
    eq("decide-extension: the old close clocks are gone",
       sorted(m for m in clock_members(st, te) if "|close|" in m), [])
    rearm = stage(T0 + 92000, until, T0 + 400000, T0 + 600000, "5wd")
    rep = set_clocks(st, te, wf.get("id", ""), T0 + 92100, {"close": rearm}, what="rearm")
    eq("rearm: applied", rep, [1])
    h = st.hash("t", te)
    eq("rearm: due, warn, esc moved; light reset; running",
       (h.get("close_due"), h.get("close_warn"), h.get("close_esc"), h.get("close_light"),
        h.get("close_state")),
       (str(until), str(T0 + 400000), str(T0 + 600000), "", "running"))
    m = clock_members(st, te)
    eq("rearm: the close clocks at the new times",
       (m.get(te + "|close|warn"), m.get(te + "|close|due"), m.get(te + "|close|esc")),
       (T0 + 400000, until, T0 + 600000))
    eq("rearm: watcher outbox record removed", st.score("ob", "watcher", wf.get("id", "")), None)
    eq("rearm: timeline", st.timeline(te)[-1].get("what"), "clock_rearmed")
    fire(st, te + "|close|warn", T0 + 400000)
    warns = sorted(k for k, v in st.notes(te).items() if v.get("kind") == "deadline.warning")
    eq("rearm: a new warning for the new deadline, with its own id",
       warns, sorted(["%s:deadline.warning:close:%d" % (te, T0 + 100000),
                      "%s:deadline.warning:close:%d" % (te, until)]))


def test_overdue_list(r):
    st = Store(r, "k4")
    tx = clocked_ticket(st, "c:k4-x", {"close": stage(T0 + 100, T0 + 5000, T0 + 4000,
                                                      T0 + 9000, "5wd")})
    ty = clocked_ticket(st, "c:k4-y", {"ack": stage(T0 + 100, T0 + 3000, T0 + 2000, T0 + 4000,
                                                    "1wh")})
    eq("overdue_list: empty", st.fcall("overdue_list"), [])
    fire(st, tx + "|close|due", T0 + 6000)
    fire(st, ty + "|ack|due", T0 + 6000)
    fire(st, ty + "|ack|esc", T0 + 6001)
    eq("overdue_list: every overdue stage in due order",
       [s(x) for x in st.fcall("overdue_list")],
       [ty, "ack", str(T0 + 3000), "bx.zjj", str(T0 + 6001), "dispatched",
        tx, "close", str(T0 + 5000), "bx.zjj", "", "dispatched"])
    step(st, T0 + 7000, UNIT_ACTOR, ty, "ack")
    eq("overdue_list: an acknowledged stage leaves it",
       [s(x) for x in st.fcall("overdue_list")][:2], [tx, "close"])


def test_recompute(r):
    st = Store(r, "k5")
    te = clocked_ticket(st, "c:k5-e", provisional=1)
    eq("provisional: in {T}:provisional", r.sismember(st.k("provisional"), te), True)
    eq("provisional: flagged on the ticket", st.hash("t", te).get("clocks_provisional"), "1")
    eq("provisional: on the timeline", st.timeline(te)[-1].get("provisional"), True)
    step(st, T0 + 500, UNIT_ACTOR, te, "ack")
    got = st.fcall("clock_sources", 10)
    src = json.loads(got[1]) if len(got) == 2 and s(got[0]) == te else {}
    stages = src.get("stages", {})
    eq("clock_sources: the provisional order with what to compute from",
       (src.get("urgency"), src.get("category"), sorted(stages)),
       ("urgent", "report", ["close", "reply"]))
    eq("clock_sources: a running stage's start, span and due", stages.get("reply"),
       {"start": T0 + 100, "span": "72h", "due": T0 + 10000})

    tf = clocked_ticket(st, "c:k5-f", provisional=1)
    fire(st, tf + "|close|due", T0 + 100001)
    fire(st, te + "|reply|warn", T0 + 9000)
    h0 = st.hash("t", te)
    new = standard_stages()
    new["ack"] = stage(T0 + 100, T0 + 2000, T0 + 1500, T0 + 6000, "1wh")
    new["close"] = stage(T0 + 100, T0 + 186400000, T0 + 140000000, T0 + 272800000, "5wd")
    rep = set_clocks(st, te, "", T0 + 9100, new, what="recompute")
    eq("recompute: applied", rep, [1])
    h = st.hash("t", te)
    eq("recompute: a completed stage is untouched",
       (h.get("ack_state"), h.get("ack_due"), [m for m in clock_members(st, te) if "|ack|" in m]),
       ("met", h0.get("ack_due"), []))
    eq("recompute: a running stage moves", (h.get("close_due"), h.get("close_warn"),
                                            h.get("close_esc")),
       (str(T0 + 186400000), str(T0 + 140000000), str(T0 + 272800000)))
    eq("recompute: its clocks move", st.score("clk", te + "|close|due"), T0 + 186400000)
    eq("recompute: out of {T}:provisional", r.sismember(st.k("provisional"), te), False)
    eq("recompute: no longer flagged", h.get("clocks_provisional"), "0")
    last = st.timeline(te)[-1]
    eq("recompute: timeline", (last.get("what"), last.get("note")),
       ("clocks_recomputed", "close,reply"))
    # the watcher fires whatever warn clock is there: one warning per deadline
    rearmed = st.score("clk", te + "|reply|warn")
    fire(st, te + "|reply|warn", T0 + 9150)
    warned = [e for e in st.timeline(te) if e.get("what") == "deadline.warning"]
    check("recompute with unchanged times does not warn a second time for the same deadline",
          len(warned) == 1, "%d reply warnings; light was %r, warn clock %r after recompute"
          % (len(warned), h.get("reply_light"), rearmed),
          bug="clocks_set 'recompute' writes _light='' and ZADDs the warn clock for every "
              "running stage; for a stage whose yellow warning already fired and whose times "
              "did not change (input: clocks_set recompute with the same start/due/warn), the "
              "watcher fires the same deadline.warning again: the same notification id is "
              "reset to pending and delivered a second time")

    h0f = st.hash("t", tf)
    rep = set_clocks(st, tf, "", T0 + 9200, standard_stages(T0 + 5), what="recompute",
                     provisional=1)
    h = st.hash("t", tf)
    eq("recompute: an overdue stage is untouched",
       (h.get("close_state"), h.get("close_due"), st.score("clk", tf + "|close|due")),
       ("overdue", h0f.get("close_due"), None))
    eq("recompute: still provisional stays in the set", r.sismember(st.k("provisional"), tf),
       True)
    eq("recompute: the running ones moved", h.get("reply_due"), str(T0 + 10005))


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
        for test in (test_create, test_dispatch, test_summary_utf8, test_clocks_set,
                     test_clock_fire, test_clock_steps, test_overdue_list, test_recompute,
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
