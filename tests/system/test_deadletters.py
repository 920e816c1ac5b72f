"""test_deadletters.py -- a notification that keeps failing becomes a dead letter with its last
error, visible to operators (API, rexianctl deadletters and /metrics), and can be retried or
dropped with rexianctl; a stopped notifier hands back what it had not delivered."""
import json
import os
import re
import signal
import subprocess
import time

from harness import BUILD, SECRET, SOURCE, Checks, System, http_call, wait_for

CTL = os.path.join(BUILD, "services", "ctl", "rexianctl")

LAMP = {"channel": "phone", "caller": {"phone": "13800000001"},
        "text": "来电人反映：城关镇人民路路灯坏了一个月了", "address": "城关镇人民路"}


def metric(port, name):
    _, _, text = http_call("GET", "127.0.0.1", port, "/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def ctl(s, *args, token="admin", url=None):
    """rexianctl as an operator runs it: (exit code, stdout, stderr)."""
    cmd = [CTL, "--url", url or "http://127.0.0.1:%d" % s.api_port, "--token", token]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, LANG="C.UTF-8"))
    return p.returncode, p.stdout, p.stderr


def ctl_checks(c, s, tid, dl, count):
    """rexianctl deadletters list and show say what the API says; bad uses are refused."""
    rc, out, err = ctl(s, "deadletters", "list")
    c.equal(rc, 0, "deadletters list exits 0 (stderr: %s)" % err.strip())
    lines = out.splitlines()
    c.check(lines and lines[0].split()[:3] == ["STAGE", "ID", "TICKET"], "a table: %r" % out)
    c.equal(lines[-1] if lines else None, "%d dead letters" % count, "with the API's count")
    row = [ln.split() for ln in lines if dl["id"] in ln.split()]
    c.check(row and row[0][:4] == ["notifier", dl["id"], tid, "2"],
            "the dead letter's stage, whole id, ticket and attempts: %r" % row)
    c.check(row and "HTTP 500" in " ".join(row[0]), "and its last error: %r" % row)
    c.check(row and re.fullmatch(r"\d{4}-\d\d-\d\d", row[0][-2]) and
            re.fullmatch(r"\d\d:\d\d:\d\d", row[0][-1]), "and when it died: %r" % row)
    rc, out, _ = ctl(s, "deadletters", "list", "--stage", "router")
    c.equal((rc, out), (0, "0 dead letters\n"), "--stage router: none there")
    rc, out, _ = ctl(s, "--json", "deadletters", "list", "--stage", "notifier")
    doc = json.loads(out) if rc == 0 else {}
    c.equal(doc.get("count"), count, "--json prints the server's answer")
    rc, out, _ = ctl(s, "deadletters", "list", token="supervisor")
    c.equal(rc, 0, "a supervisor lists dead letters too")

    rc, out, err = ctl(s, "deadletters", "show", "notifier", dl["id"])
    c.equal(rc, 0, "deadletters show exits 0 (stderr: %s)" % err.strip())
    for want in ("stage       notifier", "id          " + dl["id"], "ticket      " + tid,
                 "attempts    2", "message     notify", "message id  " + dl["id"], "body"):
        c.check(want in out.splitlines(), "show prints %r" % want)
    err_line = [ln for ln in out.splitlines() if ln.startswith("last error  ")]
    c.check(err_line and err_line[0][12:] == dl["error"].replace("\n", " "),
            "show prints the whole last error: %r" % err_line)
    c.check('    "ticket": "%s",' % tid in out.splitlines() and
            '    "kind": "unit.new_order",' in out.splitlines(),
            "and the message body pretty-printed: %r" % out)
    rc, out, _ = ctl(s, "--json", "deadletters", "show", "notifier", dl["id"])
    c.equal(json.loads(out)["message"]["body"]["ticket"] if rc == 0 else None, tid,
            "show --json prints the server's answer")

    rc, out, err = ctl(s, "deadletters", "show", "notifier", tid + ":nothing")
    c.check(rc == 1 and out == "" and "404" in err, "a dead letter not there: exit 1, 404: %r"
            % err)
    rc, out, err = ctl(s, "deadletters", "list", token="unit-urban")
    c.check(rc == 1 and "403" in err, "a unit may not: exit 1, 403: %r" % err)
    rc, out, err = ctl(s, "deadletters", "drop", "notifier", dl["id"])
    c.check(rc == 2 and "needs --reason" in err, "drop without --reason: usage, exit 2: %r" % err)
    rc, out, err = ctl(s, "deadletters", "retry", "intake", dl["id"])
    c.check(rc == 2 and "router, watcher, notifier" in err, "an unknown stage: exit 2: %r" % err)
    rc, out, err = ctl(s, "--timeout", "2", "deadletters", "list",
                       url="http://127.0.0.1:%d" % s.hook_port)
    c.equal(rc, 1, "a server that is not the API: exit 1 (%s)" % err.strip())
    rc, out, err = ctl(s, "deadletters", "list", url="http://127.0.0.1:1")
    c.check(rc == 3 and "cannot connect" in err, "nothing listening: exit 3: %r" % err)


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
        ctl_checks(c, s, tid, dl[0], doc["count"])
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
        rc, out, err = ctl(s, "deadletters", "retry", "notifier", dl[0]["id"])
        c.equal((rc, out), (0, "notifier %s retried\n" % dl[0]["id"]),
                "rexianctl deadletters retry (stderr: %s)" % err.strip())
        wait_for(lambda: any(n["nid"] == dl[0]["id"] and n["state"] == "delivered"
                             for n in s.api("GET", "/v1/tickets/" + tid, token="supervisor")[1]
                             ["notifications"]), "retried delivery", 15)
        c.check(True, "a retried dead letter is delivered")
        st, doc, _ = s.api("GET", "/v1/deadletters", token="admin")
        c.check(dl[0]["id"] not in [d["id"] for d in doc["items"]], "and leaves the list")
        rc, out, err = ctl(s, "deadletters", "retry", "notifier", dl[0]["id"])
        c.check(rc == 1 and "404" in err, "a second retry finds nothing to retry: %r" % err)
        for other in doc["items"]:
            rc, out, err = ctl(s, "deadletters", "drop", other["stage"], other["id"],
                               "--reason", "来电人已电话告知")
            c.equal((rc, out), (0, "%s %s dropped\n" % (other["stage"], other["id"])),
                    "rexianctl deadletters drop --reason (stderr: %s)" % err.strip())
        c.equal(s.api("GET", "/v1/deadletters", token="admin")[1]["count"], 0, "list empty")
        rc, out, _ = ctl(s, "deadletters", "list")
        c.equal((rc, out), (0, "0 dead letters\n"), "rexianctl lists none")
        c.equal(s.redis("XLEN", "{bx}:audit:deadletters"), str(1 + len(doc["items"])),
                "retry and drops audited")
        audit = s.redis("XRANGE", "{bx}:audit:deadletters", "-", "+") or ""
        c.check("来电人已电话告知" in audit and "admin" in audit,
                "the audit keeps the reason and who dropped it")

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
