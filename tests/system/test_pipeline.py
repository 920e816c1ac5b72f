"""test_pipeline.py -- one county end to end: an operator records calls over HTTP; the real
router dispatches them, the real watcher starts and fires their clocks, the real notifier
delivers signed webhooks to a receiver. Also the API's errors, roles and Redis outages."""
import re
import time

from harness import Checks, System, wait_for

LAMP = {"channel": "phone", "caller": {"phone": "13800000001"},
        "text": "来电人反映：城关镇人民路路灯坏了一个月了", "address": "城关镇人民路"}


def get(sys_, tid, token="operator"):
    return sys_.api("GET", "/v1/tickets/" + tid, token=token)


def dispatched(sys_, tid):
    status, doc, _ = get(sys_, tid)
    return doc if status == 200 and doc["status"] not in ("received",) else None


def main():
    c = Checks()
    # the watcher runs 2 minutes ahead, so a 1-minute acknowledge clock falls due at once
    policy = {"normal": {"ack": "1m", "reply": "72h", "close": "5wd"},
              "emergency": {"ack": "15m", "reply": "24h", "close": "3d"}}
    with System(policy=policy, watcher_offset="2m") as s:
        # -- a call becomes a dispatched, clocked, notified order --------------------------------
        status, doc, hdrs = s.api("POST", "/v1/tickets", LAMP)
        c.equal(status, 201, "create answers 201")
        tid = doc["id"] if doc else ""
        c.check(re.fullmatch(r"BX-\d{8}-\d{6}", tid), "readable ticket id, got %r" % tid)
        c.equal(hdrs.get("Location"), "/v1/tickets/" + tid, "Location header")
        wait_for(lambda: dispatched(s, tid), "dispatch", 5)
        t = dispatched(s, tid)
        c.equal(t["status"], "dispatched", "status")
        c.equal(t["unit"], "urban-management", "street lamp goes to urban management")
        c.equal(t["urgency"], "normal", "urgency")
        c.check("路灯" in t["route"]["why"], "route says why: %r" % t["route"]["why"])
        dispatched_ms = None
        for e in t["timeline"]:
            if e["what"] == "dispatched":
                dispatched_ms = e
        c.check(dispatched_ms is not None, "timeline has the dispatch")
        wait_for(lambda: "clocks_started" in [e["what"] for e in get(s, tid)[1]["timeline"]],
                 "clocks", 5)
        t = get(s, tid)[1]
        d = t["deadlines"]
        c.check(set(d) == {"ack", "reply", "close"}, "three clocks: %r" % sorted(d))
        c.equal(d["reply"]["span"], "72h", "reply span from the policy")
        t_disp = time.mktime(time.strptime(t["dispatched_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        t_reply = time.mktime(time.strptime(d["reply"]["due"][:19], "%Y-%m-%dT%H:%M:%S"))
        c.equal(int(t_reply - t_disp), 72 * 3600, "reply due 72 h after dispatch")
        c.check(d["close"]["due"].endswith("17:30:00+08:00"),
                "5 working days end at the close of office hours: %s" % d["close"]["due"])
        c.check(d["close"]["due_ms"] > d["reply"]["due_ms"] - 86400000 * 3,
                "close after dispatch")

        # -- the unit's webhook, signed, with a stable id -----------------------------------------
        def hook(event, ticket):
            return [h for h in s.webhooks() if h["event"] == event and h["body"]["ticket"] == ticket]
        wait_for(lambda: hook("unit.new_order", tid), "new-order webhook", 5)
        h = hook("unit.new_order", tid)[0]
        c.check(h["signature_valid"], "webhook signature verifies with the unit's secret")
        c.equal(h["path"], "/hook/urban-management", "delivered to the unit's endpoint")
        c.equal(h["notification_id"], h["body"]["notification_id"], "stable id in header and body")
        c.equal(h["body"]["unit"], "urban-management", "body names the unit")
        wait_for(lambda: any(n["state"] == "delivered" for n in get(s, tid)[1]["notifications"]),
                 "delivery recorded", 5)
        t = get(s, tid)[1]
        n = [n for n in t["notifications"] if n["kind"] == "unit.new_order"][0]
        c.equal(n["state"], "delivered", "delivery status on the ticket")
        c.equal(n["attempts"], 1, "one attempt")
        c.check("notified" in [e["what"] for e in t["timeline"]], "timeline has the notification")

        # -- the acknowledge deadline passes: deadline.due, marked overdue, unit told -------------
        wait_for(lambda: hook("deadline.due", tid), "deadline.due webhook", 10)
        h = hook("deadline.due", tid)[0]
        c.equal(h["body"]["stage"], "ack", "the acknowledge clock fired")
        c.check(h["signature_valid"], "deadline webhook signed")
        t = get(s, tid)[1]
        c.equal(t["deadlines"]["ack"]["state"], "overdue", "ack marked overdue")
        c.equal(t["deadlines"]["reply"]["state"], "running", "reply still running")
        fired = [e for e in t["timeline"] if e["what"] == "deadline.due"]
        c.equal(len(fired), 1, "fired exactly once")
        time.sleep(2.5)
        c.equal(len(hook("deadline.due", tid)), 1, "one deadline webhook, not repeated")

        # -- idempotency: a retried POST returns the same ticket ---------------------------------
        body = dict(LAMP, idempotency_key="call-7781")
        st1, d1, _ = s.api("POST", "/v1/tickets", body)
        st2, d2, _ = s.api("POST", "/v1/tickets", body)
        c.equal((st1, st2), (201, 200), "first create 201, retry 200")
        c.equal(d1["id"], d2["id"], "retry returns the same ticket")
        c.equal(d2.get("replayed"), True, "retry says it was replayed")

        # -- urgency and manual dispatch ---------------------------------------------------------
        st, gas, _ = s.api("POST", "/v1/tickets", {
            "channel": "phone", "caller": {"phone": "13800000002"},
            "text": "来电人反映：城关镇幸福小区3号楼楼道里有很大的煤气味，怀疑燃气泄漏，请马上派人",
            "address": "城关镇幸福小区"})
        wait_for(lambda: dispatched(s, gas["id"]), "gas dispatch", 5)
        g = dispatched(s, gas["id"])
        c.equal(g["urgency"], "emergency", "a gas leak is an emergency")
        st, vague, _ = s.api("POST", "/v1/tickets", {
            "channel": "phone", "caller": {"phone": "13800000003"}, "text": "你好，我想反映个事情"})
        wait_for(lambda: dispatched(s, vague["id"]), "manual dispatch", 5)
        v = dispatched(s, vague["id"])
        c.equal(v["status"], "pending_dispatch", "no confident rule: manual dispatch queue")
        c.equal(v["unit"], None, "no guessed unit")
        c.check(int(s.redis("ZSCORE", "{bx}:q:manual", vague["id"]) or 0) > 0, "in the queue")
        wait_for(lambda: [h for h in s.webhooks() if h["path"] == "/hook/dispatcher"],
                 "dispatchers told", 5)

        # -- roles and scope ---------------------------------------------------------------------
        st, doc, _ = get(s, tid, token="unit-urban")
        c.equal(st, 200, "the unit sees its own order")
        c.equal(doc["caller"]["phone"], "138****0001", "unit sees a masked phone")
        st, doc, _ = get(s, tid, token="unit-chengguan")
        c.equal(st, 404, "another unit does not see it")
        st, doc, _ = s.api("GET", "/v1/tickets?unit=urban-management&limit=5", token="supervisor")
        c.equal(st, 200, "supervisor lists a unit's orders")
        c.check(tid in [i["id"] for i in doc["items"]], "the order is listed")
        c.check(all("****" in i["phone"] for i in doc["items"]), "list masks phones")
        st, doc, _ = s.api("GET", "/v1/tickets?status=pending_dispatch", token="dispatcher")
        c.check(vague["id"] in [i["id"] for i in doc["items"]], "manual queue listed by status")
        st, doc, _ = s.api("POST", "/v1/tickets", LAMP, token="unit-urban")
        c.equal(st, 403, "a unit cannot create tickets")
        st, doc, _ = s.api("POST", "/v1/tickets", LAMP, token=None)
        c.equal(st, 401, "no token: 401")
        st, doc, _ = s.api("POST", "/v1/tickets", LAMP, token="nope")
        c.equal(st, 401, "unknown token: 401")

        # -- bad input: 4xx JSON errors that say what is wrong -----------------------------------
        bad = [
            (b'{"channel":"phone",', 400, "invalid_json", None),
            (b'[1,2]', 400, "invalid_json", None),
            (b'{"channel":"phone","caller":{"phone":"13800000001"}}', 400, "missing_field", "text"),
            (b'{"channel":"fax","caller":{"phone":"1"},"text":"x"}', 400, "invalid_value", "channel"),
            (b'{"channel":"phone","caller":{"phone":138},"text":"x"}', 400, "wrong_type",
             "caller.phone"),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"x","colour":1}', 400,
             "unknown_field", "colour"),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"\xff\xfe"}', 400,
             "invalid_json", None),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"' + b"x" * 4001 + b'"}',
             400, "too_long", "text"),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"   "}', 400,
             "empty_field", "text"),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"x","township":"mars"}',
             400, "invalid_value", "township"),
            (b"x" * 70000, 413, "body_too_large", None),
            (b"[" * 30000 + b"]" * 30000, 400, "invalid_json", None),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"x","address":1e999}',
             400, "invalid_json", None),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"x",'
             b'"category":123456789012345678901234567890}', 400, "invalid_json", None),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"x","address":[1]}',
             400, "wrong_type", "address"),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"x","channel":"web"}',
             400, "invalid_json", None),
            (b'{"channel":"phone","caller":{"phone":"13800000001"},"text":"x\u0000y"}', 400,
             "invalid_json", None),
        ]
        for raw, want, code, field in bad:
            st, doc, _ = s.api("POST", "/v1/tickets", raw=raw)
            err = (doc or {}).get("error", {})
            c.equal((st, err.get("code"), err.get("field")), (want, code, field),
                    "bad input %r" % raw[:50])
            c.check(len(err.get("message", "")) > 10, "error message says what: %r" % err)
        c.equal(s.health(s.api_port), 200, "intake still up after bad input")

        # -- Redis goes away and comes back --------------------------------------------------------
        s.stop("redis")
        st, doc, hdrs = s.api("POST", "/v1/tickets", LAMP)
        c.equal(st, 503, "Redis down: 503")
        c.equal((doc or {}).get("error", {}).get("code"), "unavailable", "clear error code")
        c.equal(hdrs.get("Retry-After"), "1", "Retry-After")
        s.start_redis()
        wait_for(lambda: s.api("POST", "/v1/tickets", dict(LAMP, idempotency_key="after"))[0]
                 == 201, "intake recovers by itself", 10)
        st, doc, _ = get(s, tid)
        c.equal(st, 200, "orders written before the restart are still there (AOF)")
        later = s.api("POST", "/v1/tickets", dict(LAMP, idempotency_key="after"))[1]["id"]
        wait_for(lambda: hook("unit.new_order", later), "pipeline works after the restart", 10)
    return c.done()


if __name__ == "__main__":
    raise SystemExit(main())
