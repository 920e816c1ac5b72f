"""test_deadletters.py -- a notification that keeps failing becomes a dead letter with its last
error, visible to operators (API and /metrics), and can be retried or dropped; a stopped
notifier hands back what it had not delivered."""
import os
import re
import signal
import subprocess
import time

from harness import SECRET, SOURCE, Checks, System, http_call, wait_for

LAMP = {"channel": "phone", "caller": {"phone": "13800000001"},
        "text": "来电人反映：城关镇人民路路灯坏了一个月了", "address": "城关镇人民路"}


def metric(port, name):
    _, _, text = http_call("GET", "127.0.0.1", port, "/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def main():
    c = Checks()
    # every webhook answers 500: notifications fail twice and become dead letters
    with System(receiver_args=["--fail-every", "1"]) as s:
        # two attempts, then dead (the harness sets redeliver_after 2s; backoff waits ~1-2 s)
        cfg = s.config_text().replace("heartbeat = 1s", "heartbeat = 1s\nmax_deliveries = 2")
        open(s.config, "w").write(cfg)
        s.stop("notifier")
        s.start_service("notifier")
        wait_for(lambda: s.health(s.ports["notifier"]) == 200, "notifier back")
        time.sleep(1.5)
        st, doc, _ = s.api("POST", "/v1/tickets", LAMP)
        tid = doc["id"]
        # the unit's new-order notice and the citizen's acceptance notice both die
        wait_for(lambda: s.api("GET", "/v1/deadletters", token="admin")[1]["count"] >= 2,
                 "two dead letters", 25)
        st, doc, _ = s.api("GET", "/v1/deadletters", token="admin")
        dl = [d for d in doc["items"] if d.get("ticket") == tid and "new_order" in d["id"]]
        c.check(dl and dl[0]["stage"] == "notifier", "the failed notification is a dead letter")
        c.check(dl and "HTTP 500" in dl[0]["error"], "with its last error: %r" % dl)
        c.equal(dl[0]["attempts"] if dl else None, 2, "after max_deliveries attempts")
        t = s.api("GET", "/v1/tickets/" + tid, token="supervisor")[1]
        dead = [n for n in t["notifications"] if n["state"] == "dead"]
        c.check(dead, "the order shows the notification dead")
        c.check("notification_dead" in [e["what"] for e in t["timeline"]], "and the timeline says so")
        wait_for(lambda: (metric(s.ports["notifier"], 'rexian_dead_letters{stage="notifier"}')
                          or 0) >= 1, "dead letters in /metrics", 5)
        c.check(True, "rexian_dead_letters in the notifier's /metrics")
        st, one, _ = s.api("GET", "/v1/deadletters/notifier/" + dl[0]["id"], token="admin")
        c.equal(one["message"]["type"], "notify", "the message itself can be read")
        st, _, _ = s.api("GET", "/v1/deadletters", token="unit-urban")
        c.equal(st, 403, "units do not handle dead letters")
        st, doc, _ = s.api("POST", "/v1/deadletters/notifier/%s/drop" % dl[0]["id"], {}, token="admin")
        c.equal(st, 400, "dropping needs a reason")

        # the receiver works again: retry delivers
        s.stop("receiver")
        s.procs["receiver"] = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(SOURCE, "scripts", "webhook-receiver"), "--host",
             "127.0.0.1", "--port", str(s.hook_port), "--out", s.hooks, "--secret", SECRET],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: s.port_open(s.hook_port), "receiver back")
        st, doc, _ = s.api("POST", "/v1/deadletters/notifier/%s/retry" % dl[0]["id"], {}, token="admin")
        c.equal(st, 200, "retry accepted")
        wait_for(lambda: any(n["nid"] == dl[0]["id"] and n["state"] == "delivered"
                             for n in s.api("GET", "/v1/tickets/" + tid, token="supervisor")[1]
                             ["notifications"]), "retried delivery", 15)
        c.check(True, "a retried dead letter is delivered")
        st, doc, _ = s.api("GET", "/v1/deadletters", token="admin")
        c.check(dl[0]["id"] not in [d["id"] for d in doc["items"]], "and leaves the list")
        other = doc["items"][0]
        st, _, _ = s.api("POST", "/v1/deadletters/%s/%s/drop" % (other["stage"], other["id"]),
                         {"reason": "the citizen was told by phone"}, token="admin")
        c.equal(st, 200, "drop with a reason")
        c.equal(s.api("GET", "/v1/deadletters", token="admin")[1]["count"], 0, "list empty")
        c.equal(s.redis("XLEN", "{bx}:audit:deadletters"), "2", "retry and drop audited")

    # a notifier stopped with SIGTERM while deliveries are slow hands them back
    with System(receiver_args=["--delay-ms", "1500"]) as s:
        s.start_service("notifier", key="notifier2")
        time.sleep(1.5)
        ids = [s.api("POST", "/v1/tickets", dict(LAMP, idempotency_key="k%d" % i))[1]["id"]
               for i in range(20)]
        time.sleep(0.8)
        s.stop("notifier", signal.SIGTERM)
        wait_for(lambda: all(any(n["state"] == "delivered" and n["kind"] == "unit.new_order"
                                 for n in s.api("GET", "/v1/tickets/" + t, token="supervisor")[1]
                                 ["notifications"]) for t in ids), "every order's unit notified",
                 40)
        c.check(True, "nothing lost when a notifier stops mid-delivery")
        hooks = [h for h in s.webhooks() if h["event"] == "unit.new_order"]
        ids_seen = [h["notification_id"] for h in hooks]
        c.equal(len(set(ids_seen)), 20, "20 distinct notifications delivered")
        print("duplicate deliveries after the stop: %d" % (len(ids_seen) - len(set(ids_seen))))
    return c.done()


if __name__ == "__main__":
    raise SystemExit(main())
