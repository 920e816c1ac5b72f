"""test_fairness.py -- fair scores through the HTTP API: one caller's chain of complaints linked
and flagged, the township's explanations and claims, the supervisor's rulings, and satisfaction
with and without exclusions exactly as the README's formula gives; then a seeded random run of
some 2000 orders through every lifecycle path, after which the live counters must agree with a
recomputation from the timelines and with the counts this test kept itself."""
import collections
import concurrent.futures
import os
import random
import re
import threading
import time

from harness import SOURCE, Checks, System, sha, wait_for

CALLER = "13912345678"       # the caller of the story (DOMAIN.md, "The pain ...")
TOWN = "town-jiazhen"        # 贾镇: the township her complaints are about
SUPERVISOR_NAME = "t-supervisor"
LINKING = "[linking]\ncaller_key = fairness-test-key\nrepeat_orders = 3\nrepeat_window = 30d\n"
REPEAT_ORDERS = 3
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied", "unreachable")
SEED = int(os.environ.get("REXIAN_FAIR_SEED", "12345"))
ORDERS = int(os.environ.get("REXIAN_FAIR_ORDERS", "2000"))
WORKERS = 8


def unit_codes():
    with open(os.path.join(SOURCE, "deploy", "beixian", "units.conf"), encoding="utf-8") as f:
        return re.findall(r"^\[unit ([a-z0-9-]+)\]", f.read(), re.M)


def unit_token(code):
    return "u-" + code


class FairSystem(System):
    """The harness's system with a token for every unit of the demo county (u-CODE)."""

    def config_text(self, *args, **kwargs):
        text = super().config_text(*args, **kwargs)
        more = "".join("t-u-%s = unit:%s %s\n" % (u, u, sha(unit_token(u))) for u in unit_codes())
        return text.replace("[tokens]\n", "[tokens]\n" + more, 1)


def beijing_day(t=None):
    return time.strftime("%Y-%m-%d", time.gmtime((t or time.time()) + 8 * 3600))


def period(day0, day1):
    return "day=" + day0 if day0 == day1 else "from=%s&to=%s" % (day0, day1)


def rate(num, den):
    """The README's rate, rounded as GET /v1/metrics rounds it (percent, 2 decimals)."""
    return None if den <= 0 else int(num / den * 10000 + 0.5) / 100.0


class Api:
    """Steps and reads on one running system; failures are counted, not raised."""

    def __init__(self, s, c):
        self.s, self.c = s, c
        self.lock = threading.Lock()
        self.shown = 0

    def fail(self, what):
        with self.lock:
            self.shown += 1
            if self.shown <= 25:
                self.c.check(False, what)
            else:
                self.c.failed += 1

    def get(self, tid, token="supervisor"):
        return self.s.api("GET", "/v1/tickets/" + tid, token=token)[1]

    def create(self, phone, text, address=""):
        body = {"channel": "phone", "caller": {"phone": phone}, "text": text, "address": address}
        st, doc, _ = self.s.api("POST", "/v1/tickets", body)
        if st != 201:
            self.fail("create: %s %s" % (st, doc))
            return None
        return doc["id"]

    def routed(self, tid):
        """Waits until the router decided; returns the ticket."""
        box = {}

        def done():
            box["t"] = self.get(tid)
            return box["t"]["status"] in ("dispatched", "pending_dispatch")
        wait_for(done, "%s routed" % tid, 15)
        return box["t"]

    def clocks(self, tid, n):
        """Waits until the watcher started the ack clock n times (dispatch, redispatch, reopen)."""
        def started():
            t = self.get(tid)
            return sum(e["what"] == "clocks_started" and "ack" in e.get("note", "").split(",")
                       for e in t["timeline"]) >= n and "return_due" in t
        wait_for(started, "clocks of %s (%d)" % (tid, n), 15)

    def step(self, tid, step, body=None, token="operator", want=200):
        st, doc, _ = self.s.api("POST", "/v1/tickets/%s/%s" % (tid, step), body or {},
                                token=token)
        if st != want:
            self.fail("%s %s by %s: got %s %s, want %s" % (step, tid, token, st, doc, want))
            return None
        return doc


# ---------------------------------------------------------------------------------------------
# 1. The story: one caller, four complaints with changing content, one township.

STORY = [
    ("来电人反映：她家的低保上个月被取消了，贾镇民政办说她存款和子女收入超标，她认为评低保不公平，"
     "要求恢复低保。", "贾镇新村"),
    ("来电人反映：贾镇民政办工作人员评低保时收受好处费，给钱的就能评上，要求查处。", "贾镇"),
    ("来电人反映：工作日上午去贾镇民政办办事，办公室锁着门没有人值班，打电话也没人接。", "贾镇"),
    ("来电人反映：新村村干部优亲厚友，村支书把自己家人和亲戚都评上了低保，要求村务公开。",
     "贾镇新村"),
]
EXPLAIN = [
    ("经核查，该户家庭存款及子女收入超过我镇低保认定标准，经村民代表评议和镇民政办审核后依规取消，"
     "已向来电人当面解释政策。", [{"name": "低保复核审批表.pdf", "hash": "sha256:01aa"},
                                  {"name": "家庭收入核查记录.pdf", "hash": "sha256:01bb"}]),
    ("经纪委和镇纪检核查，未发现民政办工作人员收受好处费的情况，来电人未能提供具体线索。",
     [{"name": "核查报告.pdf", "hash": "sha256:02aa"}]),
    ("民政办工作日全天有人值班，来电人所述时间段值班人员在岗，走廊监控录像可以证明。",
     [{"name": "走廊监控录像.mp4", "hash": "sha256:03aa"},
      {"name": "值班表.xlsx", "hash": "sha256:03bb"}]),
    ("新村低保评定经村民代表大会评议并张榜公示，村支书亲属中无低保户，村务已按季度公开。",
     [{"name": "低保公示照片.jpg", "hash": "sha256:04aa"}]),
]
OTHERS = [  # other callers' orders to the same township, for a satisfaction rate to compare
    ("13700000001", "来电人反映：贾镇新村有人焚烧秸秆，烟很大，呛得人喘不过气", "贾镇新村",
     ["satisfied"]),
    ("13700000002", "来电人反映：贾镇新村的村道坏了，很多大坑，请镇里修一下", "贾镇新村",
     ["basically_satisfied"]),
    ("13700000003", "来电人反映：贾镇新村村口垃圾池满了，好几天没人清理", "贾镇新村",
     ["unreachable", "satisfied"]),
]
TOWN_TOKEN = unit_token(TOWN)


def on_town(a, tid, t):
    """Makes sure the order is the township's: dispatches it by hand or redispatches it when
    the catalogue decided otherwise. Returns the number of ack clocks to wait for."""
    if t["status"] == "pending_dispatch":
        a.step(tid, "dispatch", {"unit": TOWN, "note": "乡镇事务"}, "dispatcher")
        return 1
    if t["unit"] != TOWN:
        a.clocks(tid, 1)
        a.step(tid, "return", {"reason": "not_our_responsibility", "note": "属于乡镇事务"},
               unit_token(t["unit"]))
        a.step(tid, "review-return", {"decision": "redispatch", "unit": TOWN,
                                      "reason": "乡镇事务"}, "dispatcher")
        return 2
    return 1


def cycle(a, tid, rating, words, clocks):
    """One round: the township acknowledges and replies, the callback rates."""
    a.clocks(tid, clocks)
    a.step(tid, "ack", {}, TOWN_TOKEN)
    a.step(tid, "reply", {"text": "已按政策答复来电人，并说明了依据。"}, TOWN_TOKEN)
    return a.step(tid, "rate", {"rating": rating, "words": words}, "callback")


def story(c):
    day0 = beijing_day()
    with FairSystem(extra=LINKING) as s:
        a = Api(s, c)
        ratings = []        # (order, rating) for every rating given to the township
        excluded = set()    # orders whose claim the supervisor accepted
        # -- four complaints from one caller, each dispatched to the township ----------------------
        ids, clocks = [], {}
        for text, address in STORY:
            tid = a.create(CALLER, text, address)
            t = a.routed(tid)
            c.check(t["status"] == "dispatched" and t["unit"] == TOWN,
                    "the catalogue sends %r to %s (got %s %s)" % (text[5:20], TOWN, t["status"],
                                                                 t.get("unit")))
            clocks[tid] = on_town(a, tid, t)
            ids.append(tid)
        for tid in ids:
            t = a.get(tid)
            c.equal(t["unit"], TOWN, "%s is the township's" % tid)
            links = {l["ticket"]: l["why"] for l in t.get("links", [])}
            others = [o for o in ids if o != tid]
            c.check(all("same caller" in links.get(o, "") for o in others),
                    "%s is linked to the caller's other three orders as 'same caller': %r"
                    % (tid, links))
        # the flag: the third order within 30 days reaches repeat_orders (3)
        reps = [a.get(tid)["repeat_caller"] for tid in ids]
        c.check(reps[0] == 0 and reps[1] == 0 and reps[2] >= REPEAT_ORDERS and
                reps[3] >= REPEAT_ORDERS,
                "repeat_caller set from the third order on (got %r)" % reps)
        t3 = a.get(ids[2])
        c.check(any(e["what"] == "caller_flagged" for e in t3["timeline"]),
                "the flag is on the third order's timeline")

        def flags():
            return [h for h in s.webhooks() if h["event"] == "caller.repeat"
                    and h["path"] == "/hook/supervisor"]
        try:
            wait_for(flags, "caller.repeat webhook", 8)
        except Exception:
            pass
        hooks = flags()
        c.equal(len(hooks), 1, "one caller.repeat webhook to the supervisor in the window")
        if hooks:
            c.equal(hooks[0]["body"].get("ticket"), ids[2], "the flag names the third order")
            c.equal(hooks[0]["body"].get("unit"), TOWN, "the flag names the township")
        # -- the caller's chain, for supervisors only ----------------------------------------------
        key = a.get(ids[0])["caller"].get("key", "")
        c.check(re.fullmatch(r"[0-9a-f]{32}", key) is not None, "caller.key on the order: %r" % key)
        c.check("key" not in a.get(ids[0], TOWN_TOKEN)["caller"], "a unit does not see caller.key")
        c.check(CALLER not in key, "the key is not the phone number")
        st, doc, _ = s.api("GET", "/v1/callers/%s/orders" % key, token="supervisor")
        c.equal(st, 200, "supervisor reads the caller's orders")
        if st == 200:
            chain = [o["ticket"] for o in doc["orders"]]
            c.equal(chain, ids, "the chain in time order")
            c.check(all(o["unit"] == TOWN for o in doc["orders"]), "each against the township")
            times = [o["created_at"] for o in doc["orders"]]
            c.equal(times, sorted(times), "created_at ascending")
        for tok in (TOWN_TOKEN, "dispatcher", "operator"):
            st, _, _ = s.api("GET", "/v1/callers/%s/orders" % key, token=tok)
            c.equal(st, 403, "%s may not read a caller's history" % tok)
        st, _, _ = s.api("GET", "/v1/callers/not-a-key/orders", token="supervisor")
        c.equal(st, 400, "a malformed caller key is refused")

        # -- the township explains, with evidence --------------------------------------------------
        for tid, (text, evidence) in zip(ids, EXPLAIN):
            a.step(tid, "explain", {"text": text, "evidence": evidence}, TOWN_TOKEN)
        a.step(ids[0], "explain", {"text": "x"}, "operator", want=403)
        a.step(ids[0], "explain", {"text": "x"}, unit_token("town-chengguan"), want=404)
        t = a.get(ids[2])
        ex = [e for e in t["timeline"] if e["what"] == "explain"]
        c.check(ex and ex[0]["note"] == EXPLAIN[2][0] and ex[0].get("actor") and
                [x["name"] for x in ex[0].get("evidence", [])] == ["走廊监控录像.mp4", "值班表.xlsx"],
                "the explanation and its evidence are on the order, attributed: %r" % ex)

        # -- replies and ratings. Path: ack, reply, rate unsatisfied (reopens); ack, reply, rate
        # unsatisfied (reopens again); the supervisor closes it. Order 3's claim is ruled between
        # the two ratings (its second rating is excluded as it is written); the others' after.
        a.step(ids[0], "rate", {"rating": "unsatisfied"}, "callback", want=409)
        for i, tid in enumerate(ids):
            doc = cycle(a, tid, "unsatisfied", "还是不满意", clocks[tid])
            ratings.append((tid, "unsatisfied"))
            c.check(doc is not None and doc["status"] == "dispatched",
                    "an unsatisfied rating reopens %s" % tid)
            if i == 2:
                a.step(tid, "claim", {"kind": "unreasonable",
                                      "reason": "repeated_without_new_facts",
                                      "text": "来电人同一事项反复变换内容投诉，已提供监控录像证明有人值班。",
                                      "evidence": [{"name": "走廊监控录像.mp4", "hash": "sha256:03aa"}]},
                       TOWN_TOKEN)
                a.step(tid, "claim", {"kind": "rating", "reason": "unreasonable_request",
                                      "text": "again"}, TOWN_TOKEN, want=409)
                a.step(tid, "rule", {"claim": 1, "decision": "accept",
                                     "reason": "监控录像显示值班人员在岗，诉求不属实。"}, "supervisor")
                excluded.add(tid)
                c.equal(a.get(tid)["excluded_from_satisfaction"], True,
                        "an accepted claim takes the order out at once")
            doc = cycle(a, tid, "unsatisfied", "不满意", clocks[tid] + 1)
            ratings.append((tid, "unsatisfied"))
            c.equal(a.get(tid)["reopened"], 2, "%s reopened twice" % tid)
            a.step(tid, "close", {"reason": "经两次重办，镇政府已依政策答复，诉求无新的事实。"},
                   "supervisor")
            c.equal(a.get(tid)["status"], "closed", "supervisor closed %s" % tid)
        # other callers' orders to the township
        for phone, text, address, rs in OTHERS:
            tid = a.create(phone, text, address)
            t = a.routed(tid)
            n = on_town(a, tid, t)
            a.clocks(tid, n)
            a.step(tid, "ack", {}, TOWN_TOKEN)
            a.step(tid, "reply", {"text": "已处理。"}, TOWN_TOKEN)
            for r in rs:
                a.step(tid, "rate", {"rating": r}, "callback")
                ratings.append((tid, r))
            ids_other = tid
        c.equal(a.get(ids_other)["status"], "closed", "unreachable, then satisfied: closed")

        # -- claims on the rest: two more rejected, one more accepted ------------------------------
        claims = {
            ids[0]: ("rating", "policy_beyond_unit", "低保认定标准由县民政局制定，镇里依规执行，"
                     "不满意针对的是政策本身。", "accept", "认定标准属县级政策，镇里依规执行，评价不计入。"),
            ids[1]: ("unreasonable", "unreasonable_request", "举报无具体线索，经核查不属实。",
                     "reject", "举报涉及工作人员廉洁问题，须由纪检机关出具结论，现有材料不足。"),
            ids[3]: ("unreasonable", "repeated_without_new_facts", "与前几次投诉为同一事项。",
                     "reject", "本次反映村干部优亲厚友，是新的事项，不属于重复投诉。"),
        }
        rulings = {ids[2]: ("accept", "监控录像显示值班人员在岗，诉求不属实。")}
        for tid, (kind, reason, text, decision, why) in claims.items():
            a.step(tid, "claim", {"kind": kind, "reason": reason, "text": text}, TOWN_TOKEN)
            a.step(tid, "rule", {"claim": 1, "decision": decision, "reason": why}, TOWN_TOKEN,
                   want=403)
            a.step(tid, "rule", {"claim": 1, "decision": decision, "reason": why}, "supervisor")
            a.step(tid, "rule", {"claim": 1, "decision": decision, "reason": why}, "supervisor",
                   want=409)
            rulings[tid] = (decision, why)
            if decision == "accept":
                excluded.add(tid)
        a.step(ids[0], "claim", {"kind": "rating", "reason": "bored", "text": "x"}, TOWN_TOKEN,
               want=400)
        for tid in ids:
            c.equal(a.get(tid)["excluded_from_satisfaction"], tid in excluded,
                    "%s excluded_from_satisfaction" % tid)

        # -- the township's score, computed here from the ratings made -----------------------------
        day1 = beijing_day()
        q = period(day0, day1)
        mine = collections.Counter(r for _, r in ratings)
        gone = collections.Counter(r for tid, r in ratings if tid in excluded)
        sat, bas, uns = mine["satisfied"], mine["basically_satisfied"], mine["unsatisfied"]
        xs, xb, xu = gone["satisfied"], gone["basically_satisfied"], gone["unsatisfied"]
        want_with = rate(sat + bas - xs - xb, sat + bas + uns - xs - xb - xu)
        want_without = rate(sat + bas, sat + bas + uns)
        print("township ratings %s, excluded %s: satisfaction %s%% (without exclusions %s%%)"
              % (dict(mine), dict(gone), want_with, want_without), flush=True)
        st, doc, _ = s.api("GET", "/v1/metrics?%s&unit=%s" % (q, TOWN), token="supervisor")
        c.equal(st, 200, "metrics for the township")
        row = (doc or {}).get("units", [{}])[0] if st == 200 else {}
        counts, rates = row.get("counts", {}), row.get("rates", {})
        for r in RATINGS:
            c.equal(counts.get("rated_" + r), mine[r], "rated_%s of the township" % r)
            c.equal(counts.get("excluded_" + r), gone[r], "excluded_%s of the township" % r)
        c.equal(counts.get("reopened"), 8, "eight reopens")
        c.equal(tuple(counts.get(m) for m in ("claims", "claims_accepted", "claims_rejected")),
                (4, 2, 2), "claims, accepted, rejected")
        c.equal(rates.get("satisfaction_rate"), want_with, "satisfaction with exclusions")
        c.equal(rates.get("satisfaction_rate_without_exclusions"), want_without,
                "satisfaction without exclusions")
        c.check(any("satisfaction" in f and "under 90%" in f for f in row.get("flags", [])),
                "the township is flagged under the threshold: %r" % row.get("flags"))
        st, _, _ = s.api("GET", "/v1/metrics?" + q, token=TOWN_TOKEN)
        c.equal(st, 403, "a unit does not read the scores")

        # -- the audit of claims -------------------------------------------------------------------
        st, doc, _ = s.api("GET", "/v1/claims?unit=" + TOWN, token="supervisor")
        items = (doc or {}).get("items", [])
        c.equal(sorted(i["ticket"] for i in items), sorted(ids), "the township's four claims")
        for i in items:
            decision, why = rulings.get(i["ticket"], (None, None))
            want = "accepted" if decision == "accept" else "rejected"
            c.equal((i.get("status"), i.get("ruled_by"), i.get("ruling"), i.get("by")),
                    (want, SUPERVISOR_NAME, why, TOWN),
                    "claim on %s: ruling, who, why" % i["ticket"])
            c.check(i.get("ruled_at") and i.get("at") and i.get("reason"),
                    "claim on %s keeps when and the reason" % i["ticket"])
        st, doc, _ = s.api("GET", "/v1/claims?status=accepted", token="supervisor")
        c.equal(sorted(i["ticket"] for i in (doc or {}).get("items", [])), sorted(excluded),
                "status=accepted lists exactly the two accepted")
        st, doc, _ = s.api("GET", "/v1/claims?supervisor=" + SUPERVISOR_NAME, token="dispatcher")
        c.equal((doc or {}).get("count"), 4, "claims listed by the supervisor who ruled")
        st, _, _ = s.api("GET", "/v1/claims", token=TOWN_TOKEN)
        c.equal(st, 403, "a unit does not read the claims audit")

        # -- what the citizen sees -----------------------------------------------------------------
        for tid in ids:
            st, doc, _ = s.api("GET", "/v1/public/tickets/%s?phone_last4=%s" % (tid, CALLER[-4:]),
                               token=None)
            decision, why = rulings[tid]
            shown = (doc or {}).get("claims", [])
            c.check(st == 200 and len(shown) == 1 and
                    shown[0].get("status") == ("accepted" if decision == "accept" else "rejected")
                    and shown[0].get("ruling") == why,
                    "the citizen sees the claim outcome on %s: %r" % (tid, shown))

        # -- the drill-down lists exactly the excluded orders --------------------------------------
        st, doc, _ = s.api("GET", "/v1/metrics/orders?unit=%s&metric=excluded_unsatisfied&%s"
                           % (TOWN, q), token="supervisor")
        c.equal(sorted((doc or {}).get("orders", [])), sorted(excluded),
                "excluded_unsatisfied drills down to the excluded orders")
        st, doc, _ = s.api("GET", "/v1/metrics/orders?unit=%s&metric=rated_unsatisfied&%s"
                           % (TOWN, q), token="supervisor")
        c.equal(sorted((doc or {}).get("orders", [])), sorted(ids),
                "rated_unsatisfied drills down to the caller's four orders")
        st, doc, _ = s.api("GET", "/v1/metrics/recompute?" + q, token="supervisor")
        c.check(st == 200 and doc["agree"] and not doc["differences"],
                "recomputed from the timelines, the story's counters agree: %r" % doc)

        # -- a fifth order from the caller, dispatched by hand -------------------------------------
        # README: a caller with repeat_orders orders against one unit in the window is flagged;
        # that must not depend on whether the router or a dispatcher chose the unit.
        tid = a.create(CALLER, "你好，我还要反映一个事情，上次说的问题到现在没人管", "")
        t = a.routed(tid)
        if t["status"] == "pending_dispatch":
            a.step(tid, "dispatch", {"unit": TOWN, "note": "同一来电人"}, "dispatcher")
        t = a.get(tid)
        c.check(all("same caller" in l["why"] for l in t.get("links", []))
                and len(t.get("links", [])) >= 4, "the fifth order is linked to the other four")
        c.check(t["unit"] == TOWN and t["repeat_caller"] >= REPEAT_ORDERS,
                "BUG (find_links runs only in ticket_dispatch, the router's path; the dispatch "
                "and review-return steps never call it): a repeat caller's order dispatched by "
                "hand to %s is not marked repeat_caller (got %r)" % (TOWN, t["repeat_caller"]))

        # -- a claim is the claiming unit's: it must not follow the order to the next unit ---------
        lamp = ("来电人反映：城关镇文化路路灯不亮，晚上走路看不见", "城关镇文化路")
        tid = a.create("13600000001", *lamp)
        t = a.routed(tid)
        first = t.get("unit")
        a.clocks(tid, 1)
        a.step(tid, "return", {"reason": "not_our_responsibility", "note": "文化路路灯归城关镇"},
               unit_token(first))
        a.step(tid, "claim", {"kind": "unreasonable", "reason": "unreasonable_request",
                              "text": "该诉求不属于本单位"}, unit_token(first))
        a.step(tid, "review-return", {"decision": "redispatch", "unit": "town-chengguan",
                                      "reason": "镇区路灯归城关镇"}, "dispatcher")
        a.step(tid, "rule", {"claim": 1, "decision": "accept", "reason": "确非本单位职责"},
               "supervisor")
        a.clocks(tid, 2)
        a.step(tid, "ack", {}, "unit-chengguan")
        a.step(tid, "reply", {"text": "已修复"}, "unit-chengguan")
        a.step(tid, "rate", {"rating": "unsatisfied"}, "callback")
        st, doc, _ = s.api("GET", "/v1/metrics?" + period(day0, beijing_day()), token="supervisor")
        rows = {r["unit"]: r["counts"] for r in (doc or {}).get("units", [])}
        got = (rows.get("town-chengguan", {}).get("excluded_unsatisfied"),
               rows.get("town-chengguan", {}).get("claims_accepted"),
               rows.get(first, {}).get("claims_accepted"))
        c.equal(got, (0, 0, 1), "BUG (ticket_step 'rule' sets entry.lead = t.unit and the "
                "order-wide 'excluded' flag; it should use the claim's unit cl.by): %s claimed, "
                "returned the order, it was redispatched to town-chengguan and the claim accepted;"
                " town-chengguan's unsatisfied rating is excluded and the accepted claim counted"
                " as town-chengguan's (excluded_unsatisfied, claims_accepted of town-chengguan,"
                " claims_accepted of %s)" % (first, first))

        # -- an order acknowledged while the watcher is down ---------------------------------------
        # The unit acknowledged in time; when the watcher comes back, clocks_set must not arm an
        # ack clock on an acknowledged order (it would fire 'overdue' against the unit).
        s.stop("watcher")
        tid = a.create("13600000002", *lamp)
        t = a.routed(tid)
        a.step(tid, "ack", {}, unit_token(t["unit"]))
        s.start_service("watcher")
        try:
            wait_for(lambda: "ack" in a.get(tid).get("deadlines", {}), "clocks after restart", 10)
        except Exception:
            pass
        t = a.get(tid)
        c.check(t["status"] == "acknowledged" and
                t.get("deadlines", {}).get("ack", {}).get("state") != "running",
                "BUG (clocks_set arms every stage it is sent, whatever the order's state): an "
                "order acknowledged before the watcher started its clocks gets a running ack "
                "clock, which will fire 'overdue' and escalate against a unit that acknowledged"
                " (status %s, ack clock %r)" % (t["status"], t.get("deadlines", {}).get("ack")))


# ---------------------------------------------------------------------------------------------
# 2. A seeded random run through every lifecycle path, then recompute.

ROUTED = [  # texts the catalogue sends to a unit at once (any unit will do: each has a token)
    ("来电人反映：城关镇人民路路灯坏了一个月了", "城关镇人民路"),
    ("来电人反映：东关朝阳路停水两天了，一直没有来水", "东关朝阳路"),
    ("来电人反映：家里宽带经常掉线，网速慢，报修了没人来", "西关和平路"),
    ("来电人反映：小区暖气不热，室温只有十几度", "西关西苑"),
    ("来电人反映：在超市买到过期食品，商家不给退", "城关镇解放路"),
    ("来电人反映：公司拖欠工资三个月，要求帮助讨薪", "城关镇建设路"),
    ("来电人反映：村里停电了，变压器坏了", "李庄镇"),
    ("来电人反映：县道路面坑坑洼洼，大货车超载", "王集镇"),
    ("来电人反映：村干部优亲厚友，村务不公开", "南湖镇"),
    ("来电人反映：邻居盖房占了他家的宅基地，发生纠纷请镇里调解", "河口镇"),
    ("来电人咨询：医保异地就医怎么备案报销", ""),
    ("来电人反映：有人在河道里盗采河砂", "石桥乡"),
    ("来电人反映：贾镇新村的村道坏了，很多大坑，请镇里修一下", "贾镇新村"),
]
VAGUE = ["你好，我想反映个事情", "我打电话就是想问问", "喂，你们能不能管一下", "我想咨询一下"]
PATHS = [  # (name, weight); merge makes two orders, the others one
    ("happy", 18), ("reopen", 14), ("unreachable", 8), ("return_redispatch", 8),
    ("return_rejected", 7), ("extension", 8), ("pause", 6), ("close", 6), ("merge", 5),
    ("reject", 4), ("resolve", 4), ("manual", 8),
]


class Tally:
    """What this test did, counted per unit as the README defines each counter."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = collections.defaultdict(collections.Counter)
        self.paths = collections.Counter()
        self.orders = 0

    def add(self, unit, metric, k=1):
        with self.lock:
            self.n[unit][metric] += k
            self.n["*"][metric] += k


class Runner:
    def __init__(self, a, tally, units):
        self.a, self.t, self.units = a, tally, units

    # each order: its rng, its lead, its clock rounds, its ratings, whether it is excluded
    def new(self, rng, vague=False):
        phone = "135%08d" % rng.randrange(1200)  # some callers call more than once
        if vague:
            text, address = rng.choice(VAGUE), ""
        else:
            text, address = rng.choice(ROUTED)
            text += "，已经%d天了" % rng.randrange(1, 30)
        tid = self.a.create(phone, text, address)
        if tid is None:
            return None
        with self.t.lock:
            self.t.orders += 1
        with self.t.lock:
            self.t.n["*"]["received"] += 1
        t = self.a.routed(tid)
        o = {"id": tid, "unit": t.get("unit"), "clocks": 0, "excluded": False, "ratings": [],
             "status": t["status"], "claims": 0}
        if t["status"] == "dispatched":
            self.t.add(o["unit"], "dispatched")
            self.arm(o)
        return o

    def arm(self, o):
        o["clocks"] += 1
        self.a.clocks(o["id"], o["clocks"])

    def tok(self, o):
        return unit_token(o["unit"])

    def ok(self, o, step, body, token):
        doc = self.a.step(o["id"], step, body, token)
        if doc is not None:
            o["status"] = doc["status"]
        return doc

    def ack(self, o):
        if self.ok(o, "ack", {}, self.tok(o)) is not None:
            self.t.add(o["unit"], "acknowledged")
            self.t.add(o["unit"], "ack_on_time")  # the clocks run: the test waits for them

    def reply(self, o):
        self.ok(o, "reply", {"text": "已处理并答复来电人。"}, self.tok(o))

    def rate(self, o, r):
        if self.ok(o, "rate", {"rating": r, "words": r}, "callback") is None:
            return
        o["ratings"].append(r)
        self.t.add(o["unit"], "rated_" + r)
        if o["excluded"]:
            self.t.add(o["unit"], "excluded_" + r)
        if r in ("satisfied", "basically_satisfied"):
            self.closed(o)
        elif r == "unsatisfied":
            self.t.add(o["unit"], "reopened")
            self.arm(o)

    def closed(self, o):
        for m in ("closed", "closed_on_time", "due"):  # closed within the close deadline
            self.t.add(o["unit"], m)

    def close(self, o):
        if self.ok(o, "close", {"reason": "督办后办结"}, "supervisor") is not None:
            self.closed(o)

    def maybe_claim(self, rng, o, p):
        """The lead unit claims (unreasonable / rating) and the supervisor rules."""
        if rng.random() >= p or o["claims"] >= 3:
            return
        kind = rng.choice(["unreasonable", "rating"])
        reason = rng.choice(["unreasonable_request", "policy_beyond_unit",
                             "misunderstanding_explained", "repeated_without_new_facts",
                             "rating_not_about_unit"])
        if self.ok(o, "claim", {"kind": kind, "reason": reason, "text": "诉求不合理，附说明。"},
                   self.tok(o)) is None:
            return
        o["claims"] += 1
        self.t.add(o["unit"], "claims")
        decision = rng.choice(["accept", "reject"])
        if self.ok(o, "rule", {"claim": o["claims"], "decision": decision,
                               "reason": "裁定理由：" + decision}, "supervisor") is None:
            return
        self.t.add(o["unit"], "claims_accepted" if decision == "accept" else "claims_rejected")
        if decision == "accept" and not o["excluded"]:
            o["excluded"] = True
            for r in o["ratings"]:
                self.t.add(o["unit"], "excluded_" + r)

    def finish(self, rng, o):
        """From dispatched or acknowledged to closed, through a good rating or the supervisor."""
        if o["status"] == "dispatched":
            self.ack(o)
        self.reply(o)
        if rng.random() < 0.15:
            self.close(o)
        else:
            self.rate(o, rng.choice(["satisfied", "basically_satisfied"]))
        self.maybe_claim(rng, o, 0.15)

    def run(self, job):
        rng = random.Random(SEED * 1000003 + job)
        name = rng.choices([p[0] for p in PATHS], [p[1] for p in PATHS])[0]
        with self.t.lock:
            self.t.paths[name] += 1
        vague = name in ("reject", "resolve", "manual")
        o = self.new(rng, vague)
        if o is None:
            return 0
        made = 1
        if vague and o["status"] != "pending_dispatch":
            self.a.fail("%s: a vague text was routed (%s)" % (o["id"], o["unit"]))
            return made
        if not vague and o["status"] != "dispatched":
            # the catalogue could not decide: a dispatcher does, and the path goes on
            o["unit"] = rng.choice(self.units)
            if self.ok(o, "dispatch", {"unit": o["unit"]}, "dispatcher") is None:
                return made
            self.t.add(o["unit"], "dispatched")
            self.arm(o)
        if name == "happy":
            self.finish(rng, o)
        elif name == "reopen":
            self.ack(o)
            self.reply(o)
            self.rate(o, "unsatisfied")
            self.maybe_claim(rng, o, 0.3)   # ruled while the order is open again
            self.ack(o)
            self.reply(o)
            if rng.random() < 0.25:
                self.rate(o, "unsatisfied")
                self.close(o)
            else:
                self.rate(o, rng.choice(["satisfied", "basically_satisfied"]))
            self.maybe_claim(rng, o, 0.3)
        elif name == "unreachable":
            self.ack(o)
            self.reply(o)
            self.rate(o, "unreachable")
            if rng.random() < 0.5:
                self.rate(o, rng.choice(["satisfied", "basically_satisfied"]))
            else:
                self.close(o)
            self.maybe_claim(rng, o, 0.2)
        elif name == "return_redispatch":
            if rng.random() < 0.5:
                self.ack(o)
            if self.ok(o, "return", {"reason": "not_our_responsibility", "note": "不属于本单位"},
                       self.tok(o)) is None:
                return made
            self.t.add(o["unit"], "returned")
            new = rng.choice([u for u in self.units if u != o["unit"]])
            if self.ok(o, "review-return", {"decision": "redispatch", "unit": new,
                                            "reason": "改派"}, "dispatcher") is None:
                return made
            o["unit"] = new
            self.t.add(new, "dispatched")
            self.arm(o)
            self.finish(rng, o)
        elif name == "return_rejected":
            if rng.random() < 0.5:
                self.ack(o)
            if self.ok(o, "return", {"reason": rng.choice(["wrong_location", "other"]),
                                     "note": "地址不清"}, self.tok(o)) is None:
                return made
            self.t.add(o["unit"], "returned")
            self.ok(o, "review-return", {"decision": "reject", "reason": "地址明确，请办理"},
                    "dispatcher")
            self.finish(rng, o)
        elif name == "extension":
            self.ack(o)
            due = self.a.get(o["id"])["deadlines"]["close"]["due_ms"]
            until = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(due / 1000 + 8 * 3600 + 3 * 86400))
            self.ok(o, "extend", {"until": until, "reason": "需要协调多个部门"}, self.tok(o))
            self.ok(o, "decide-extension", {"decision": rng.choice(["approve", "refuse"]),
                                            "reason": "决定"}, "supervisor")
            self.finish(rng, o)
        elif name == "pause":
            self.ok(o, "pause", {"reason": "等待来电人提供材料"}, self.tok(o))
            self.ok(o, "resume", {"note": "材料已到"}, rng.choice([self.tok(o), "supervisor"]))
            self.finish(rng, o)
        elif name == "close":
            if rng.random() < 0.5:
                self.ack(o)
            self.close(o)
            self.maybe_claim(rng, o, 0.2)
        elif name == "merge":
            dup = self.new(rng)
            if dup is None:
                return made
            made += 1
            if dup["status"] == "dispatched" and o["status"] == "dispatched":
                self.ok(dup, "merge", {"into": o["id"], "note": "同一事项"},
                        rng.choice(["dispatcher", "operator"]))
            self.finish(rng, o)
        elif name == "reject":
            self.ok(o, "reject", {"reason": "insufficient_information", "note": "无具体内容"},
                    "operator")
        elif name == "resolve":
            self.ok(o, "resolve", {"answer": "已按知识库答复"}, "operator")
        elif name == "manual":
            o["unit"] = rng.choice(self.units)
            if self.ok(o, "dispatch", {"unit": o["unit"], "note": "人工派单"}, "dispatcher"):
                self.t.add(o["unit"], "dispatched")
                self.arm(o)
                self.finish(rng, o)
        return made


COMPARED = ["dispatched", "acknowledged", "ack_on_time", "returned", "reopened", "closed",
            "closed_on_time", "due", "rated_satisfied",
            "rated_basically_satisfied", "rated_unsatisfied", "rated_unreachable",
            "excluded_satisfied", "excluded_basically_satisfied", "excluded_unsatisfied",
            "excluded_unreachable", "claims", "claims_accepted", "claims_rejected"]


def random_run(c):
    day0 = beijing_day()
    with FairSystem(extra=LINKING) as s:
        a = Api(s, c)
        tally = Tally()
        runner = Runner(a, tally, unit_codes())
        started = time.time()
        made, job = 0, 0
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            # jobs go out in waves so the run stops near ORDERS orders
            while made < ORDERS:
                wave = max(1, min(200, ORDERS - made))
                futs = [pool.submit(runner.run, job + i) for i in range(wave)]
                job += wave
                for f in futs:
                    try:
                        made += f.result()
                    except Exception as e:  # a wait that timed out, a lost connection
                        a.fail("a path stopped: %r" % e)
        took = time.time() - started
        print("random run: %d orders in %d paths, %.1f s, %d workers; paths %s"
              % (tally.orders, job, took, WORKERS, dict(sorted(tally.paths.items()))), flush=True)
        # the pipeline settles (clocks, notifications); nothing scored is written after the steps
        wait_for(lambda: all(int(s.redis("ZCARD", "{bx}:ob:" + st) or 0) == 0
                             for st in ("router", "watcher")), "outboxes drained", 30)
        q = period(day0, beijing_day())
        t0 = time.time()
        st, doc, _ = s.api("GET", "/v1/metrics/recompute?" + q, token="supervisor")
        print("recompute: %.2f s, %r" % (time.time() - t0, {k: v for k, v in (doc or {}).items()
                                                             if k != "differences"}), flush=True)
        c.equal(st, 200, "recompute answers")
        doc = doc or {}
        c.check(doc.get("agree") is True and doc.get("differences") == [],
                "live counters agree with the recomputation: %r" % doc.get("differences", [])[:10])
        c.equal(doc.get("orders"), tally.orders, "recompute read every order")
        st, doc, _ = s.api("GET", "/v1/metrics?" + q, token="supervisor")
        c.equal(st, 200, "metrics answer")
        live = {r["unit"]: r["counts"] for r in (doc or {}).get("units", [])}
        live["*"] = (doc or {}).get("tier", {}).get("counts", {})
        c.equal(live["*"].get("received"), tally.orders, "tier: received")
        with_orders = sum(1 for u in tally.n if u != "*")
        compared = bad = 0
        for unit in sorted(set(live) | set(tally.n)):
            for m in COMPARED:
                got, want = live.get(unit, {}).get(m, 0), tally.n[unit][m]
                compared += 1
                if got != want:
                    bad += 1
                    c.check(False, "%s %s: live %d, counted by the test %d" % (unit, m, got, want))
        c.check(bad == 0, "%d counters compared with the test's own counts, %d differ"
                % (compared, bad))
        rates = {r["unit"]: r["rates"] for r in (doc or {}).get("units", [])}
        wrong = []
        for unit, n in tally.n.items():
            if unit == "*":
                continue
            good = n["rated_satisfied"] + n["rated_basically_satisfied"]
            gone = n["excluded_satisfied"] + n["excluded_basically_satisfied"]
            bad_n = n["rated_unsatisfied"]
            want = (rate(good - gone, good + bad_n - gone - n["excluded_unsatisfied"]),
                    rate(good, good + bad_n))
            got = (rates.get(unit, {}).get("satisfaction_rate"),
                   rates.get(unit, {}).get("satisfaction_rate_without_exclusions"))
            if got != want:
                wrong.append((unit, got, want))
        c.check(not wrong, "every unit's satisfaction (with, without exclusions) is the README "
                "formula of the test's own counts: %r" % wrong[:5])
        print("compared %d counters (%d units with orders, %d metrics each); tier: %s" % (
            compared, with_orders, len(COMPARED),
            {m: tally.n["*"][m] for m in COMPARED}), flush=True)


def main():
    c = Checks()
    started = time.time()
    for part in (story, random_run):
        try:
            part(c)
        except Exception as e:  # a wait that timed out: the other part still runs
            c.check(False, "%s stopped: %r" % (part.__name__, e))
        print("%s done at %.1f s" % (part.__name__, time.time() - started), flush=True)
    print("total: %.1f s" % (time.time() - started), flush=True)
    return c.done()


if __name__ == "__main__":
    raise SystemExit(main())
