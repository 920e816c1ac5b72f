"""test_lifecycle.py -- every step of a work order through the HTTP API, with roles and scope:
who may take it, in which state, what the order shows afterwards, who is notified."""
import threading
import time

from harness import Checks, System, wait_for

LAMP = {"channel": "phone", "caller": {"phone": "13800000001"},
        "text": "来电人反映：城关镇人民路路灯坏了一个月了", "address": "城关镇人民路"}
VAGUE = {"channel": "phone", "caller": {"phone": "13800000009"}, "text": "你好，我想反映个事情"}


class Flow:
    def __init__(self, s, c):
        self.s, self.c = s, c

    def new(self, body=LAMP, status="dispatched"):
        st, doc, _ = self.s.api("POST", "/v1/tickets", body)
        tid = doc["id"]
        wait_for(lambda: self.get(tid)["status"] == status, "%s %s" % (tid, status), 5)
        if status == "dispatched":
            wait_for(lambda: "return_due" in self.get(tid), "clocks of " + tid, 5)
        return tid

    def get(self, tid, token="supervisor"):
        return self.s.api("GET", "/v1/tickets/" + tid, token=token)[1]

    def step(self, tid, step, body=None, token="operator"):
        st, doc, _ = self.s.api("POST", "/v1/tickets/%s/%s" % (tid, step), body or {}, token=token)
        return st, doc

    def ok(self, tid, step, body=None, token="operator", status=None):
        st, doc = self.step(tid, step, body, token)
        self.c.equal(st, 200, "%s by %s: %s" % (step, token, doc))
        if status and st == 200:
            self.c.equal(doc["status"], status, "%s leaves the order %s" % (step, status))
        return doc

    def refused(self, tid, step, body, token, want_status, want_code, what):
        st, doc = self.step(tid, step, body, token)
        err = (doc or {}).get("error", {})
        self.c.equal((st, err.get("code")), (want_status, want_code), what + ": " + str(err))
        return err

    def hooks(self, tid, event, path=None):
        return [h for h in self.s.webhooks() if h["event"] == event and h["body"].get("ticket") == tid
                and (path is None or h["path"] == path)]

    def told(self, tid, event, path, what):
        try:
            wait_for(lambda: self.hooks(tid, event, path), what, 8)
            self.c.check(True, what)
        except Exception:
            self.c.check(False, what + " (no %s webhook to %s)" % (event, path))


def main():
    c = Checks()
    with System() as s:
        f = Flow(s, c)

        # -- the full path, through a reopen -------------------------------------------------------
        tid = f.new()
        f.told(tid, "citizen.accepted", "/hook/citizen", "citizen told the order number")
        err = f.refused(tid, "reply", {"text": "修好了"}, "unit-urban", 409, "illegal_step",
                        "reply before acknowledging")
        c.check("dispatched" in err["message"] and "ack" in err["message"],
                "409 names the state and what is allowed: %s" % err.get("message"))
        f.refused(tid, "ack", {}, "unit-chengguan", 404, "not_found", "another unit's order")
        f.refused(tid, "ack", {}, "operator", 403, "forbidden", "an operator cannot acknowledge")
        f.ok(tid, "ack", {}, "unit-urban", "acknowledged")
        t = f.get(tid)
        c.check(t["deadlines"]["ack"]["state"] in ("met", "late"), "ack clock stopped")
        f.refused(tid, "ack", {}, "unit-urban", 409, "illegal_step", "acknowledge twice")
        f.ok(tid, "reply", {"text": "已更换路灯灯头，恢复照明。",
                            "evidence": [{"name": "photo.jpg", "hash": "sha256:ab12"}]},
             "unit-urban", "replied")
        f.told(tid, "citizen.reply", "/hook/citizen", "citizen gets the unit's reply")
        t = f.get(tid)
        c.equal(t["reply_text"], "已更换路灯灯头，恢复照明。", "reply on the order")
        c.equal(t["reply_evidence"][0]["name"], "photo.jpg", "evidence reference kept")
        f.refused(tid, "rate", {"rating": "satisfied"}, "unit-urban", 404, "not_found",
                  "a unit cannot rate") if False else None
        st, doc = f.step(tid, "rate", {"rating": "satisfied"}, "unit-urban")
        c.equal(st, 403, "a unit cannot rate its own work")
        f.ok(tid, "rate", {"rating": "unsatisfied", "words": "只修了一个，还有两个不亮"},
             "callback", "dispatched")
        f.told(tid, "unit.reopened", "/hook/urban-management", "unit told of the reopen")
        f.told(tid, "supervisor.reopened", "/hook/supervisor", "supervisor told of the reopen")
        t = f.get(tid)
        c.equal(t["reopened"], 1, "reopened once")
        c.equal(t["unit"], "urban-management", "reopened to the same unit")
        wait_for(lambda: sum(e["what"] == "clocks_started" and "ack" in e["note"].split(",")
                             for e in f.get(tid)["timeline"]) == 2, "new clocks", 5)
        f.ok(tid, "ack", {}, "unit-urban", "acknowledged")
        f.ok(tid, "reply", {"text": "三个路灯均已修复。"}, "unit-urban", "replied")
        f.ok(tid, "rate", {"rating": "satisfied", "words": "都亮了"}, "callback", "closed")
        t = f.get(tid)
        c.equal(t["rating"], "satisfied", "rating kept")
        c.check(t["deadlines"]["close"]["state"] in ("met", "late"), "close clock stopped")
        whats = [e["what"] for e in t["timeline"]]
        for w in ("received", "dispatched", "ack", "reply", "rate", "reopened", "notified"):
            c.check(w in whats, "timeline has %s" % w)
        c.check(all(e.get("actor") for e in t["timeline"]), "every entry has its actor")
        f.refused(tid, "ack", {}, "unit-urban", 409, "illegal_step", "acting on a closed order")

        # -- return, review, redispatch; never back to the returning unit silently --------------------
        tid = f.new()
        f.refused(tid, "return", {"reason": "bored", "note": "x"}, "unit-urban", 400,
                  "invalid_value", "return reason from the configured list")
        f.ok(tid, "return", {"reason": "not_our_responsibility", "note": "路灯归城关镇管"},
             "unit-urban", "returned")
        f.told(tid, "return.review", "/hook/supervisor", "supervisor told of the return")
        st, doc, _ = s.api("GET", "/v1/tickets?status=returned", token="dispatcher")
        c.check(tid in [i["id"] for i in doc["items"]], "in the review queue")
        f.refused(tid, "review-return", {"decision": "redispatch", "unit": "urban-management",
                                         "reason": "again"}, "dispatcher", 409, "same_unit",
                  "never silently back to the returning unit")
        f.ok(tid, "review-return", {"decision": "redispatch", "unit": "town-chengguan",
                                    "reason": "城关镇负责镇区路灯"}, "dispatcher", "dispatched")
        t = f.get(tid)
        c.equal(t["unit"], "town-chengguan", "redispatched")
        f.told(tid, "unit.new_order", "/hook/town-chengguan", "new unit told")
        st, doc = f.step(tid, "ack", {}, "unit-urban")
        c.equal(st, 404, "the returning unit no longer acts on it")
        learn = s.redis("HGET", "{bx}:learn:returns", tid)
        c.check(learn and "town-chengguan" in learn, "a 'not ours' return is kept as a labelled "
                "example with the final unit: %r" % learn)
        st, doc, _ = s.api("GET", "/v1/routing/returns", token="dispatcher")
        ex = [e for e in doc["items"] if e["ticket"] == tid]
        c.check(st == 200 and ex and ex[0]["returned_unit"] == "urban-management"
                and ex[0]["final_unit"] == "town-chengguan", "returns readable as examples: %r" % ex)
        st, doc, _ = s.api("GET", "/v1/routing/returns", token="unit-urban")
        c.equal(st, 403, "units do not read the routing examples")

        # the dispatcher rejects a return: the unit keeps the order
        tid = f.new()
        f.ok(tid, "ack", {}, "unit-urban")
        f.ok(tid, "return", {"reason": "wrong_location", "note": "地址不清"}, "unit-urban", "returned")
        f.ok(tid, "review-return", {"decision": "reject", "reason": "地址写明人民路"}, "dispatcher",
             "acknowledged")
        f.told(tid, "unit.return_rejected", "/hook/urban-management", "unit told the return was rejected")

        # the return window: a unit returns within 2 working days of dispatch
        tid = f.new()
        s.redis("HSET", "{bx}:t:" + tid, "return_due", str(int(time.time() * 1000) - 1000))
        f.refused(tid, "return", {"reason": "other", "note": "x"}, "unit-urban", 409,
                  "return_window_closed", "return after the window")

        # -- extensions -----------------------------------------------------------------------------
        tid = f.new()
        f.ok(tid, "ack", {}, "unit-urban")
        due = f.get(tid)["deadlines"]["close"]["due_ms"]
        later = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(due / 1000 + 8 * 3600 + 5 * 86400))
        f.refused(tid, "extend", {"until": later}, "unit-urban", 400, "missing_field",
                  "extension needs a reason")
        f.ok(tid, "extend", {"until": later, "reason": "需要采购灯具"}, "unit-urban")
        f.told(tid, "extension.requested", "/hook/supervisor", "supervisor asked")
        f.refused(tid, "decide-extension", {"decision": "approve", "reason": "ok"}, "unit-urban",
                  403, "forbidden", "a unit cannot approve its own extension")
        f.ok(tid, "decide-extension", {"decision": "approve", "reason": "同意"}, "supervisor")
        t = f.get(tid)
        c.check(t["deadlines"]["close"]["due_ms"] > due, "approved extension moves the deadline")
        c.equal(t["extension_state"], "approved", "extension recorded")
        f.told(tid, "extension.decided", "/hook/urban-management", "unit told of the decision")
        f.refused(tid, "extend", {"until": later + ":00", "reason": "again"}, "unit-urban", 409,
                  "limit", "one extension per order")

        # -- sub-dispatch and co-handlers ------------------------------------------------------------
        tid = f.new()
        f.ok(tid, "ack", {}, "unit-urban")
        f.ok(tid, "subdispatch", {"unit": "town-chengguan", "due": later,
                                  "note": "请镇里协助核实具体位置"}, "unit-urban")
        f.told(tid, "unit.subdispatch", "/hook/town-chengguan", "sub-dispatched unit told")
        st, doc, _ = s.api("GET", "/v1/tickets/" + tid, token="unit-chengguan")
        c.equal(st, 200, "the sub-dispatched unit sees the order")
        c.equal(doc["unit"], "urban-management", "the lead stays responsible")
        st, doc = f.step(tid, "reply", {"text": "x"}, "unit-chengguan")
        c.equal(st, 409, "a sub-dispatched unit does not reply for the lead")
        tid2 = f.new()
        f.ok(tid2, "close", {"reason": "test"}, "supervisor", "closed")
        vague = f.new(VAGUE, "pending_dispatch")
        f.ok(vague, "dispatch", {"unit": "urban-management", "co_units": ["town-chengguan"],
                                 "note": "manual"}, "dispatcher", "dispatched")
        f.told(vague, "unit.new_order", "/hook/town-chengguan", "co-handler told")
        f.ok(vague, "ack", {}, "unit-chengguan")
        c.equal(f.get(vague)["status"], "dispatched", "a co-handler's ack does not acknowledge "
                "for the lead")
        f.ok(vague, "ack", {}, "unit-urban", "acknowledged")
        f.ok(vague, "reply", {"text": "镇里已配合"}, "unit-chengguan")
        f.told(vague, "co.reply", "/hook/urban-management", "lead sees the co-handler's reply")
        c.equal(f.get(vague)["status"], "acknowledged", "a co-reply does not close the lead's order")

        # -- merge, reject, resolve at first contact -------------------------------------------------
        orig = f.new()
        dup = f.new()
        doc = f.ok(dup, "merge", {"into": orig, "note": "同一路灯"}, "dispatcher", "merged")
        c.equal(doc.get("into"), orig, "the caller is told the original order's number")
        c.check(dup in f.get(orig)["merged"], "the original lists the merged request")
        f.told(dup, "citizen.merged", "/hook/citizen", "citizen told of the merge")
        f.refused(orig, "merge", {"into": orig}, "dispatcher", 409, "same_order", "merge into itself")
        vague = f.new(VAGUE, "pending_dispatch")
        f.refused(vague, "reject", {"reason": "because"}, "operator", 400, "invalid_value",
                  "reject reason from the list")
        f.ok(vague, "reject", {"reason": "insufficient_information", "note": "无具体内容"},
             "operator", "rejected")
        vague = f.new(VAGUE, "pending_dispatch")
        f.ok(vague, "resolve", {"answer": "已按知识库答复：社保卡补办请到人社局窗口"}, "operator", "closed")
        c.equal(f.get(vague)["resolution"], "first_contact", "resolved at first contact, recorded")

        # -- citizen self-service and phone masking ---------------------------------------------------
        st, doc, _ = s.api("GET", "/v1/public/tickets/%s?phone_last4=0001" % orig, token=None)
        c.equal(st, 200, "a citizen sees their order with the phone's last 4 digits")
        c.check("城市管理" in (doc.get("unit_name") or ""), "the unit's name, not internal codes: %r"
                % doc.get("unit_name"))
        c.check("caller" not in doc and "timeline" not in doc, "no internals in the citizen view")
        st, doc, _ = s.api("GET", "/v1/public/tickets/%s?phone_last4=9999" % orig, token=None)
        c.equal(st, 404, "wrong last 4 digits: no such order")
        c.equal(f.get(orig, "unit-urban")["caller"]["phone"], "138****0001", "units see masked phones")
        c.equal(f.get(orig, "supervisor")["caller"]["phone"], "13800000001", "supervisor sees it whole")
        c.check(int(s.redis("XLEN", "{bx}:audit:phone")) >= 1, "whole-phone views are recorded")

        # -- concurrent steps: one winner, a clear 409 for the other ----------------------------------
        tid = f.new()
        f.ok(tid, "return", {"reason": "not_our_responsibility", "note": "不归我们"}, "unit-urban")
        results = []
        barrier = threading.Barrier(2)

        def racer(step, body, token):
            barrier.wait()
            results.append(f.step(tid, step, body, token)[0])
        # two dispatchers review the same return at once, choosing different units
        th = [threading.Thread(target=racer, args=("review-return",
                                                   {"decision": "redispatch", "unit": u,
                                                    "reason": "review"}, "dispatcher"))
              for u in ("town-chengguan", "housing-construction")]
        for x in th:
            x.start()
        for x in th:
            x.join()
        c.equal(sorted(results), [200, 409], "two steps at once: one wins, the other gets 409")
        rev = f.get(tid)["rev"]
        err = f.refused(tid, "close", {"reason": "late", "rev": rev - 1}, "supervisor", 409,
                        "conflict", "a stale revision is refused") if f.get(tid)["status"] != "closed" \
            else {"message": "revision"}
        c.check("revision" in err.get("message", ""), "409 explains the revision")

        # -- bad step bodies ------------------------------------------------------------------------
        tid = f.new()
        f.refused(tid, "ack", {"colour": 1}, "unit-urban", 400, "unknown_field", "unknown field")
        f.refused(tid, "teleport", {}, "unit-urban", 404, "not_found", "unknown step")
        f.refused(tid, "rate", {"rating": "meh"}, "callback", 400, "invalid_value", "rating enum")
        f.refused("BX-20000101-999999", "ack", {}, "unit-urban", 404, "not_found", "no such order")
    return c.done()


if __name__ == "__main__":
    raise SystemExit(main())
