"""chaoslib.py -- the chaos run: the whole pipeline (1 intake, 2 routers, 2 watchers, 2 notifiers)
takes orders over HTTP while service processes are killed with SIGKILL and started again and
Redis is restarted once (AOF brings the data back); then it waits for the outboxes to drain and
checks, from Redis and from the webhook receiver's log, that nothing was lost.

scripts/chaos runs it with its defaults (python3 chaoslib.py --help) and test_chaos.py runs a
short version. The checks:
- every order answered 201/200 exists, once per idempotency key, and is dispatched or waits in
  the manual dispatch queue;
- every dispatched order has its acknowledge, reply and close clocks, on the order and in
  {T}:clk (or already fired);
- every notification recorded on an order ({T}:t:ID:nt) is delivered, the receiver saw it, and
  the receiver saw no notification that is on no order; resends of one notification id are
  counted and set against the kills and the Redis restart that explain them;
- the outboxes are empty and there are no dead letters; no service died by itself.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, System, wait_for  # noqa: E402

TIER = "bx"
STAGES = ("router", "watcher", "notifier")
CLOCK_STAGES = ("ack", "reply", "close")
MAX_ORDERS = 10_000_000  # orders one run may push
MAX_CLIENTS = 256  # concurrent HTTP clients
ACCEPT_TIMEOUT_S = 120.0  # how long one order is retried (503, connection lost) before it fails
RESTART_WAIT_S = 60.0  # how long a restarted Redis may take to load its AOF
SLACK_S = 1.0  # clock slack when setting a resend against a crash
LEASE_S = 5.0  # [delivery] lease in the harness's config

# What callers say: varied so the router's catalogue does real work; one is an emergency and one
# is too vague for any rule (the manual dispatch queue).
TEXTS = [
    ("来电人反映：城关镇人民路和建设街交叉口的路灯坏了一个多月，晚上黑漆漆的，希望尽快修好。",
     "城关镇人民路"),
    ("来电人反映：幸福小区门口的人行道上有人占道经营卖菜，垃圾扔得到处都是，影响居民休息。",
     "城关镇幸福小区"),
    ("来电人反映：他在县城一家装修公司干了三个月活，老板拖欠工资一万二千元不给，请求帮助讨薪。",
     ""),
    ("来电人反映：家里从昨天下午开始停水，到现在还没来水，也没有看到停水通知，请查一下原因。",
     "西关街道团结路18号"),
    ("来电人反映：在超市买的牛奶还没过保质期就变质结块了，超市不给退货，要求市场监管部门处理。",
     "东关镇华联超市"),
    ("来电人咨询：孩子今年九月上小学，户口在外地，父母在县城打工有居住证，入学需要哪些材料。",
     ""),
    ("来电人反映：小区里有一栋楼在楼顶私自加盖了一层彩钢房，要求相关部门查处违法建设。",
     "城关镇锦绣花园"),
    ("来电人反映：小区旁边的工厂晚上偷偷排放废气，味道刺鼻，怀疑污染环境，请环保部门查一查。",
     "北山镇工业园"),
    ("来电人反映：村里的主路坑坑洼洼好几个大坑，下雨天积水，电动车摔倒好几次，希望修一修。",
     "王集镇王集村"),
    ("来电人反映：城关镇幸福小区3号楼楼道里有很大的煤气味，怀疑燃气泄漏，请马上派人。",
     "城关镇幸福小区"),
    ("你好，我想反映个事情", ""),
]


# -- Redis, without a client library ---------------------------------------------------------------
class RespError(Exception):
    """An error reply from Redis (returned in place of a reply, not raised)."""


class Resp:
    """A minimal RESP2 client: pipelines commands and reads their replies. Bulk strings come
    back as str (invalid UTF-8 escaped), error replies as RespError objects."""

    MAX_PIPELINE = 1000  # commands written before their replies are read

    def __init__(self, port, host="127.0.0.1", timeout=30.0):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = None
        self.rfile = None

    def close(self):
        if self.sock is not None:
            self.rfile.close()
            self.sock.close()
        self.sock = self.rfile = None

    @staticmethod
    def _encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        return b"".join(out)

    def _read(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            return data[:-2].decode("utf-8", "surrogateescape")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError("unexpected reply from redis: %r" % line[:40])

    def pipeline(self, cmds):
        """Replies to cmds (a list of argument lists), in order. Raises OSError when the
        connection fails (it is reopened on the next call)."""
        out = []
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.addr, timeout=self.timeout)
                self.rfile = self.sock.makefile("rb")
            for i in range(0, len(cmds), self.MAX_PIPELINE):
                part = cmds[i:i + self.MAX_PIPELINE]
                self.sock.sendall(b"".join(self._encode(c) for c in part))
                out.extend(self._read() for _ in part)
        except (OSError, ValueError):
            self.close()
            raise
        return out

    def call(self, *args):
        return self.pipeline([args])[0]


def key(*parts):
    return "{%s}:" % TIER + ":".join(parts)


def pairs(flat):
    """A flat [k, v, k, v ...] reply as a dict ({} for an error or nil)."""
    if not isinstance(flat, list):
        return {}
    return dict(zip(flat[0::2], flat[1::2]))


def iso_to_s(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# -- the run -------------------------------------------------------------------------------------------
class Chaos:
    """One chaos run. run() returns the report (a dict) and the checks, a list of
    (passed, what) pairs; table() renders the report."""

    def __init__(self, orders=50000, kill_every=2.0, seed=1, clients=16, min_kills=3,
                 redis_restarts=1, drain_timeout=None, log=print):
        self.orders = orders
        self.kill_every = kill_every
        self.seed = seed
        self.n_clients = clients
        self.min_kills = min_kills
        self.redis_restarts = redis_restarts
        self.drain_timeout = drain_timeout or 120.0 + orders / 200.0
        self.log = log
        self.sys = None
        self.configs = {}  # process key -> (service name, config file)
        self.lock = threading.Lock()  # guards everything below that threads share
        self.next_order = 0
        self.accepted = {}  # order number -> ticket id
        self.ids_seen = {}  # order number -> every ticket id answered for it
        self.unaccepted = {}  # order number -> last answer, for orders given up on
        self.answers = {}  # HTTP status (or "connection") -> count
        self.events = []  # (time, what, process key): kills, crashes, Redis restarts
        self.kills = {}  # process key -> SIGKILLs
        self.crashes = []  # (process key, exit status) of processes that died by themselves
        self.redis_down = []  # (stopped at, answering again at)
        self.load_done = threading.Event()
        self.wake = threading.Event()  # ends the chaos thread's wait early (load done, stop)
        self.stop_chaos = threading.Event()
        self.chaos_error = None
        self.t0 = time.time()  # when the load started: times in reports count from here

    # -- processes ------------------------------------------------------------------------------
    def start(self):
        s = self.sys = System()
        s.__enter__()
        for name in ("intake",) + STAGES:
            self.configs[name] = (name, s.config)
        for name in STAGES:
            k = name + "2"
            s.restart(name, key=k)
            self.configs[k] = (name, os.path.join(s.dir, k + ".conf"))
        wait_for(lambda: all(int(s.redis("ZCARD", key("svc", st))) >= 2 for st in STAGES),
                 "two live instances of each stage in the registry")
        time.sleep(1.2)  # producers connect to the second instances at their next heartbeat

    def close(self, failed):
        if self.sys is not None:
            if failed:
                print(self.sys.logs(), flush=True)
            self.sys.close()

    def _event(self, what, k):
        with self.lock:
            self.events.append((time.time(), what, k))

    def _kill(self, k):
        """SIGKILLs process k and starts it again with the same config."""
        s = self.sys
        name, cfg = self.configs[k]
        p = s.procs.get(k)
        if p is not None and p.poll() is not None:
            self.crashes.append((k, p.returncode))
            self._event("crash", k)
        elif p is not None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.kills[k] = self.kills.get(k, 0) + 1
            self._event("kill", k)
        s.start_service(name, cfg, k)

    def _restart_redis(self):
        s = self.sys
        t0 = time.time()
        self._event("redis_stop", "redis")
        p = s.procs["redis"]
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        try:
            s.start_redis()  # same --dir: the AOF brings the data back
        except Failure:
            wait_for(lambda: s.redis("PING") == "PONG", "redis-server to load its AOF",
                     RESTART_WAIT_S)
        self.redis_down.append((t0, time.time()))
        self._event("redis_up", "redis")

    def _chaos(self):
        rng = random.Random(self.seed)
        keys = sorted(self.configs)
        round_ = []  # every process once per round, in a random order
        kills = 0
        restarts = 0
        t_next = time.time() + self.kill_every
        try:
            while not self.stop_chaos.is_set():
                self.wake.wait(max(0.0, t_next - time.time()))
                self.wake.clear()
                if self.stop_chaos.is_set():
                    break
                with self.lock:
                    accepted = len(self.accepted)
                loaded = self.load_done.is_set()
                if restarts < self.redis_restarts and (
                        loaded or accepted >= self.orders * 0.4 * (restarts + 1)):
                    self._restart_redis()
                    restarts += 1
                    t_next = time.time() + self.kill_every
                    if not loaded:
                        continue
                if loaded and kills >= self.min_kills:
                    break
                if time.time() < t_next:
                    continue  # woken early (the load ended): the next kill keeps its time
                if not round_:
                    round_ = rng.sample(keys, len(keys))
                self._kill(round_.pop())
                kills += 1
                t_next = max(t_next + self.kill_every, time.time())
        except Exception as e:  # reported as a failed check, never swallowed
            self.chaos_error = "%s: %s" % (type(e).__name__, e)

    # -- load ----------------------------------------------------------------------------------
    def order(self, i):
        text, address = TEXTS[(i * 7 + self.seed) % len(TEXTS)]
        callers = max(1, self.orders // 3)  # each caller calls about three times
        return {"channel": "phone", "caller": {"phone": "139%08d" % (i % callers)},
                "text": text, "address": address,
                "idempotency_key": "chaos-%d-%d" % (self.seed, i)}

    def _client(self):
        port = self.sys.api_port
        headers = {"Authorization": "Bearer operator", "Content-Type": "application/json"}
        conn = None
        while True:
            with self.lock:
                i = self.next_order
                if i >= self.orders:
                    break
                self.next_order += 1
            body = json.dumps(self.order(i)).encode()
            deadline = time.time() + ACCEPT_TIMEOUT_S
            wait = 0.02
            while True:
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                    conn.request("POST", "/v1/tickets", body, headers)
                    resp = conn.getresponse()
                    status, text = resp.status, resp.read().decode("utf-8", "replace")
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    status, text = "connection", str(e)
                with self.lock:
                    self.answers[status] = self.answers.get(status, 0) + 1
                tid = None
                if status in (200, 201):
                    try:
                        tid = json.loads(text)["id"]
                    except (ValueError, KeyError, TypeError):
                        status = "%d without an id" % status
                if tid is not None:
                    with self.lock:
                        self.accepted.setdefault(i, tid)
                        self.ids_seen.setdefault(i, set()).add(tid)
                    break
                # 503 and a lost connection are retried with the same idempotency key, and so
                # is 500 (counted: it reports a store error that a retry may get past)
                if status in (503, 500, "connection") and time.time() < deadline:
                    time.sleep(wait)
                    wait = min(wait * 2, 0.5)
                    continue
                with self.lock:
                    self.unaccepted[i] = "%s %s" % (status, text[:200])
                break
        if conn is not None:
            conn.close()

    # -- draining ------------------------------------------------------------------------------
    def outbox_depths(self, r):
        return dict(zip(STAGES, r.pipeline([["ZCARD", key("ob", st)] for st in STAGES])))

    def _drain(self, r):
        """Waits until every outbox is empty twice in a row; returns the seconds it took or
        None after the timeout."""
        t0 = time.time()
        empty = 0
        while time.time() - t0 < self.drain_timeout:
            try:
                depths = self.outbox_depths(r)
            except OSError:
                depths = None
            if depths is not None and all(v == 0 for v in depths.values()):
                empty += 1
                if empty >= 2:
                    return time.time() - t0
            else:
                empty = 0
            time.sleep(0.5)
        return None

    # -- the whole run --------------------------------------------------------------------------
    def run(self):
        checks = []

        def check(cond, what):
            checks.append((bool(cond), what))
            return cond

        rep = {"orders": self.orders, "seed": self.seed, "kill_every_s": self.kill_every}
        self.start()
        t_start = self.t0 = time.time()
        chaos = threading.Thread(target=self._chaos, name="chaos")
        chaos.start()
        clients = [threading.Thread(target=self._client, name="client-%d" % n)
                   for n in range(self.n_clients)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        t_loaded = time.time()
        self.load_done.set()
        self.wake.set()
        self.log("chaos: %d orders in %.1f s, %d accepted; waiting for the last kills"
                 % (self.orders, t_loaded - t_start, len(self.accepted)))
        chaos.join(timeout=self.kill_every * (self.min_kills + 2) + RESTART_WAIT_S + 60)
        self.stop_chaos.set()
        self.wake.set()
        chaos.join()
        t_chaos = time.time()
        # a process that died by itself is a failure; start it so the rest can still drain
        for k in sorted(self.configs):
            p = self.sys.procs.get(k)
            if p is None or p.poll() is not None:
                self.crashes.append((k, None if p is None else p.returncode))
                self._event("crash", k)
                self.sys.start_service(self.configs[k][0], self.configs[k][1], k)
        r = Resp(self.sys.redis_port)
        self.log("chaos: load and chaos over after %.1f s; draining" % (t_chaos - t_start))
        drained = self._drain(r)
        rep["load_s"] = round(t_loaded - t_start, 1)
        rep["chaos_s"] = round(t_chaos - t_start, 1)
        rep["drain_s"] = None if drained is None else round(drained, 1)
        rep["answers"] = {str(k): v for k, v in sorted(self.answers.items(), key=str)}
        rep["kills"] = dict(sorted(self.kills.items()))
        rep["redis_restarts"] = len(self.redis_down)
        rep["redis_down_s"] = [round(b - a, 1) for a, b in self.redis_down]
        check(self.chaos_error is None, "chaos thread ran to its end (%s)" % self.chaos_error)
        check(drained is not None, "outboxes drained within %.0f s" % self.drain_timeout)
        check(len(self.redis_down) == self.redis_restarts,
              "Redis restarted %d time(s), want %d" % (len(self.redis_down), self.redis_restarts))
        check(sum(self.kills.values()) >= self.min_kills,
              "at least %d kills (got %d)" % (self.min_kills, sum(self.kills.values())))
        check(not self.crashes, "no service died by itself: %r" % self.crashes)
        self._verify(r, rep, check)
        r.close()
        return rep, checks

    # -- the checks ----------------------------------------------------------------------------
    def _verify(self, r, rep, check):
        accepted = self.accepted
        rep["accepted"] = len(accepted)
        check(len(accepted) == self.orders, "every order accepted within %.0f s of retries: "
              "%d of %d (%s)" % (ACCEPT_TIMEOUT_S, len(accepted), self.orders,
                                 list(self.unaccepted.items())[:3]))
        split = {i: ids for i, ids in self.ids_seen.items() if len(ids) > 1}
        check(not split, "one ticket per idempotency key: %d keys got several (%s)"
              % (len(split), list(split.items())[:3]))
        tids = sorted(set(accepted.values()))
        stored = set(r.call("ZRANGE", key("ix", "all"), 0, -1) or [])
        extra = stored - set(tids)
        rep["tickets_stored"] = len(stored)
        check(not extra, "no ticket stored that no caller was answered with: %d (%s)"
              % (len(extra), sorted(extra)[:3]))

        tickets = dict(zip(tids, r.pipeline([["HGETALL", key("t", t)] for t in tids])))
        tickets = {t: pairs(h) for t, h in tickets.items()}
        nts = dict(zip(tids, r.pipeline([["HGETALL", key("t", t, "nt")] for t in tids])))
        manual_q = set(r.call("ZRANGE", key("q", "manual"), 0, -1) or [])
        clk_cmds, clk_of = [], []
        missing, not_routed, manual, dispatched, no_clock = [], [], 0, 0, []
        for t in tids:
            h = tickets[t]
            if not h:
                missing.append(t)
                continue
            st = h.get("status")
            if st == "pending_dispatch" and t in manual_q:
                manual += 1
            elif st == "dispatched":
                dispatched += 1
                for stage in CLOCK_STAGES:
                    if not h.get(stage + "_due"):
                        no_clock.append((t, stage, "no %s_due on the order" % stage))
                    elif h.get(stage + "_state") == "running":
                        clk_cmds.append(["ZSCORE", key("clk"), "%s|%s|due" % (t, stage)])
                        clk_of.append((t, stage))
            else:
                not_routed.append((t, st))
        for (t, stage), score in zip(clk_of, r.pipeline(clk_cmds)):
            if score is None:
                no_clock.append((t, stage, "no %s|%s|due in %s" % (t, stage, key("clk"))))
        rep["dispatched"] = dispatched
        rep["manual"] = manual
        rep["clocks"] = len(clk_of) - sum(1 for x in no_clock if "in {" in x[2])
        check(not missing, "every accepted order exists: %d missing (%s)"
              % (len(missing), missing[:5]))
        check(not not_routed, "every order dispatched or in the manual queue: %d not (%s)"
              % (len(not_routed), not_routed[:5]))
        check(not no_clock, "every dispatched order has its clocks: %d missing (%s)"
              % (len(no_clock), no_clock[:5]))

        # notifications: on the orders, in the receiver's log
        recorded = {}  # nid -> (ticket, record)
        bad_records = []
        for t in tids:
            for nid, text in pairs(nts[t]).items():
                try:
                    recorded[nid] = (t, json.loads(text))
                except ValueError:
                    bad_records.append((t, nid))
        check(not bad_records, "notification records are JSON: %r" % bad_records[:3])
        expect_missing = []
        by_ticket = {}
        for nid, (t, rec) in recorded.items():
            by_ticket.setdefault(t, set()).add((rec.get("kind"), rec.get("target")))
        for t in tids:
            h = tickets[t]
            have = by_ticket.get(t, set())
            want = []
            if h.get("status") == "dispatched":
                co = json.loads(h.get("co_units") or "[]")  # cjson writes {} for none
                units = [h.get("unit")] + (co if isinstance(co, list) else [])
                want = [("unit.new_order", u) for u in units] + [("citizen.accepted", "citizen")]
            elif h.get("status") == "pending_dispatch":
                want = [("dispatch.manual", "dispatcher")]
            expect_missing.extend((t, w) for w in want if w not in have)
        check(not expect_missing, "every order has the notifications its steps cause: %d "
              "missing (%s)" % (len(expect_missing), expect_missing[:5]))
        states = {}
        for nid, (t, rec) in recorded.items():
            states[rec.get("state")] = states.get(rec.get("state"), 0) + 1
        undelivered = [(nid, rec.get("state"), rec.get("last_error"))
                       for nid, (t, rec) in recorded.items() if rec.get("state") != "delivered"]
        rep["notifications_expected"] = len(recorded)
        rep["notification_states"] = states
        check(not undelivered, "every notification on an order is delivered: %d not (%s)"
              % (len(undelivered), undelivered[:5]))

        hooks = self.sys.webhooks()
        seen = {}  # nid -> [receive times] of accepted, validly signed deliveries
        invalid = 0
        for h in hooks:
            if not h.get("signature_valid"):
                invalid += 1
            elif h.get("status") == 200 and h.get("notification_id"):
                seen.setdefault(h["notification_id"], []).append(iso_to_s(h["received_at"]))
        never = [nid for nid in recorded if nid not in seen]
        stray = [nid for nid in seen if nid not in recorded]
        dups = {nid: sorted(ts) for nid, ts in seen.items() if len(ts) > 1}
        rep["webhooks_received"] = len(hooks)
        rep["notifications_delivered"] = len(seen)
        rep["duplicates"] = sum(len(ts) - 1 for ts in dups.values())
        rep["duplicate_ids"] = len(dups)
        explained, unexplained = self._explain(dups, recorded)
        rep["duplicates_after_crash"] = explained
        rep["duplicates_unexplained"] = len(unexplained)
        check(invalid == 0, "every webhook validly signed: %d not" % invalid)
        check(not never, "the receiver saw every notification on the orders: %d never (%s)"
              % (len(never), never[:5]))
        check(not stray, "the receiver saw no notification that is on no order: %d (%s)"
              % (len(stray), stray[:5]))
        # a resend needs a crash between the delivery and the record of it: one without is the
        # notifier sending a notification it (or the other instance) still holds
        check(not unexplained, "every duplicate delivery follows a notifier kill or the Redis "
              "restart: %d do not (%s)" % (len(unexplained), self._dup_text(unexplained[:5])))

        depths = self.outbox_depths(r)
        rep["outbox_leftovers"] = depths
        left = {st: r.call("ZRANGE", key("ob", st), 0, 4) for st, n in depths.items() if n}
        check(all(n == 0 for n in depths.values()),
              "outboxes empty: %r (first: %r)" % (depths, left))
        dead = {}
        for st in STAGES:
            for mid, text in pairs(r.call("HGETALL", key("dl", st))).items():
                dead["%s %s" % (st, mid)] = text
        rep["dead_letters"] = dead
        check(not dead, "no dead letters: %d (%s)" % (len(dead), list(dead.items())[:5]))

    def _explain(self, dups, recorded):
        """Splits resends into those a failed attempt or a crash explains (counted by cause)
        and the rest. The receiver logs a POST when it handles it, which can be well after the
        notifier sent it (an overloaded receiver, or a sender killed meanwhile); a crash
        explains a resend when it falls between a lease before the first delivery and the
        last one."""
        crashes = [(t, what, k) for t, what, k in self.events
                   if (what in ("kill", "crash") and k.startswith("notifier"))]
        causes, unexplained = {}, []
        for nid, ts in sorted(dups.items()):
            first, last = ts[0] - LEASE_S - SLACK_S, ts[-1] + SLACK_S
            rec = recorded.get(nid, (None, {}))[1]
            cause = None
            if rec.get("attempts", 1) > 1:
                # the notifier counted an attempt as failed (a timeout) that the receiver took
                cause = "an attempt that timed out or failed"
            for t, what, k in crashes:
                if cause is None and first <= t <= last:
                    cause = "%s %s" % (what, k)
            for a, b in self.redis_down:
                if cause is None and a <= last and b >= first:
                    cause = "Redis restart"
            if cause is None:
                unexplained.append((nid, ts, rec))
            else:
                causes[cause] = causes.get(cause, 0) + len(ts) - 1
        return causes, unexplained

    def _dup_text(self, items):
        return ", ".join("%s at %s s, %s attempt(s)" % (
            nid, "/".join("%.2f" % (t - self.t0) for t in ts), rec.get("attempts"))
            for nid, ts, rec in items)


def table(rep):
    """The summary as a two-column text table."""
    kills = rep.get("kills", {})
    rows = [
        ("orders pushed", rep["orders"]),
        ("orders accepted (201/200)", rep.get("accepted")),
        ("HTTP answers", " ".join("%s:%d" % kv for kv in rep.get("answers", {}).items())),
        ("tickets stored", rep.get("tickets_stored")),
        ("dispatched", rep.get("dispatched")),
        ("manual dispatch queue", rep.get("manual")),
        ("clocks in {bx}:clk (due)", rep.get("clocks")),
        ("notifications expected", rep.get("notifications_expected")),
        ("notification states", " ".join("%s:%d" % kv for kv in
                                         sorted(rep.get("notification_states", {}).items()))),
        ("notifications delivered", rep.get("notifications_delivered")),
        ("webhooks received", rep.get("webhooks_received")),
        ("duplicate deliveries", "%s (%s ids)" % (rep.get("duplicates"),
                                                  rep.get("duplicate_ids"))),
        ("  explained by", " ".join("%s:%d" % kv for kv in
                                     sorted(rep.get("duplicates_after_crash", {}).items()))
         or "-"),
        ("  unexplained", rep.get("duplicates_unexplained")),
        ("kills (SIGKILL)", "%d: %s" % (sum(kills.values()),
                                        " ".join("%s:%d" % kv for kv in kills.items()))),
        ("Redis restarts", "%s (down %s s)" % (rep.get("redis_restarts"),
                                               "/".join(map(str, rep.get("redis_down_s", []))))),
        ("outbox leftovers", " ".join("%s:%d" % kv for kv in
                                      rep.get("outbox_leftovers", {}).items())),
        ("dead letters", len(rep.get("dead_letters", {}))),
        ("load time (s)", rep.get("load_s")),
        ("time to drain (s)", rep.get("drain_s") if rep.get("drain_s") is not None
         else "not drained"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = ["%-*s  %s" % (width, k, v) for k, v in rows]
    for k, v in sorted(rep.get("dead_letters", {}).items())[:20]:
        lines.append("dead letter %s: %s" % (k, v))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="chaos", description="Push orders through the whole pipeline while killing "
        "services and restarting Redis; then check nothing was lost.")
    p.add_argument("--orders", type=int, default=50000, help="orders to push (50000)")
    p.add_argument("--kill-every", type=float, default=2.0,
                   help="seconds between kills (2)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    p.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (16)")
    p.add_argument("--min-kills", type=int, default=5,
                   help="kills made even when the load ends sooner (5)")
    p.add_argument("--drain-timeout", type=float, default=None,
                   help="seconds to wait for the outboxes to empty (120 + orders/200)")
    a = p.parse_args(argv)
    if not 1 <= a.orders <= MAX_ORDERS:
        p.error("--orders must be 1 to %d" % MAX_ORDERS)
    if not 0.1 <= a.kill_every <= 3600:
        p.error("--kill-every must be 0.1 to 3600 seconds")
    if not 1 <= a.clients <= MAX_CLIENTS:
        p.error("--clients must be 1 to %d" % MAX_CLIENTS)
    if not 0 <= a.min_kills <= 10000:
        p.error("--min-kills must be 0 to 10000")
    if a.drain_timeout is not None and not 1 <= a.drain_timeout <= 86400:
        p.error("--drain-timeout must be 1 to 86400 seconds")
    seed = a.seed if a.seed is not None else int(time.time()) % 100000
    print("chaos: seed %d (--seed %d repeats the choice of kills)" % (seed, seed), flush=True)
    run = Chaos(orders=a.orders, kill_every=a.kill_every, seed=seed, clients=a.clients,
                min_kills=a.min_kills, drain_timeout=a.drain_timeout,
                log=lambda m: print(m, flush=True))
    failed = True
    try:
        rep, checks = run.run()
        print(table(rep))
        bad = [what for ok, what in checks if not ok]
        for what in bad:
            print("FAILED:", what)
        print("chaos: %d checks, %d failed" % (len(checks), len(bad)), flush=True)
        failed = bool(bad)
    finally:
        run.close(failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
