"""test_hostile.py -- bad configs are refused with file, line and reason; garbage on a ZeroMQ
port is counted and dropped while the service keeps working."""
import os
import re
import subprocess
import time

import msgpack
import zmq

from harness import BUILD, SOURCE, Checks, System, http_call, wait_for


def run(binary, config, *extra):
    p = subprocess.run([os.path.join(BUILD, "services", binary, "rexian-" + binary), "-c", config]
                       + list(extra), capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout + p.stderr


def metric(port, name):
    _, _, text = http_call("GET", "127.0.0.1", port, "/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def main():
    c = Checks()
    s = System()
    try:
        # -- configs with an error: the file, the line, what is wrong; the service refuses -----
        good = s.write_config("good.conf")
        rc, out = run("router", good, "--check-config")
        c.equal(rc, 0, "the demo catalogue passes --check-config: " + out)
        text = s.config_text().replace("port = %d" % s.redis_port, "port = seventy")
        bad = os.path.join(s.dir, "bad.conf")
        open(bad, "w").write(text)
        line = text.split("\n").index("port = seventy") + 1
        for svc in ("intake", "router", "watcher", "notifier"):
            rc, out = run(svc, bad)
            c.check(rc != 0, "%s refuses to start on a bad config" % svc)
            c.check("bad.conf:%d:" % line in out and "whole number" in out,
                    "%s names file, line and rule: %s" % (svc, out.strip()[-200:]))
        cat = open(os.path.join(SOURCE, "deploy", "beixian", "catalogue.conf")).read().split("\n")
        idx = next(i for i, l in enumerate(cat) if l.startswith("[route "))
        cat.insert(idx, "[route no-such-unit]\nkw = 路灯")
        catpath = os.path.join(s.dir, "catalogue.conf")
        open(catpath, "w").write("\n".join(cat))
        text = s.config_text().replace(os.path.join(SOURCE, "deploy", "beixian", "catalogue.conf"),
                                       catpath)
        badcat = os.path.join(s.dir, "badcat.conf")
        open(badcat, "w").write(text)
        rc, out = run("router", badcat, "--check-config")
        c.check(rc != 0 and "catalogue.conf:%d:" % (idx + 1) in out and "no-such-unit" in out,
                "unknown unit in the catalogue: file:line and the code: %s" % out.strip())
        rc, out = run("router", badcat)
        c.check(rc != 0, "router refuses to start with it")
        text = s.config_text().replace("[policy.normal]", "").replace("[tokens]",
                                                                      "[policy.normal]\nack = soon\n[tokens]")
        badspan = os.path.join(s.dir, "badspan.conf")
        open(badspan, "w").write(text)
        rc, out = run("watcher", badspan)
        c.check(rc != 0 and "ack = 'soon'" in out and "wd" in out,
                "a bad deadline span is explained: %s" % out.strip()[-200:])
    finally:
        s.close()

    # -- garbage frames on the router's ZeroMQ port ---------------------------------------------
    with System() as s:
        endpoint = s.redis("ZRANGE", "{bx}:svc:router", "0", "0")
        ctx = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 1000)
        push.connect(endpoint)
        garbage = [b"", b"\xc1", b"\xdf\x10\x00\x00\x00", b"\xdd\xff\xff\xff\xff",
                   b"\x91" * 40 + b"\x00", os.urandom(300), b"\x81\xa1v\x01",
                   msgpack.packb({"v": 1, "type": "no.such.type", "id": "x", "ts": 1, "src": "",
                                  "tier": "bx", "body": {"ticket": "BX-1"}}),
                   msgpack.packb({"v": 1, "type": "ticket.created", "id": "BX-0:created",
                                  "ts": 1, "src": "", "tier": "bx",
                                  "body": {"ticket": "BX-0", "text": "路灯坏了"}})]
        for g in garbage * 20:
            push.send(g)
        push.send(b"\x80" * (300 * 1024))  # over ZMQ_MAXMSGSIZE: libzmq drops the peer
        push.close()
        ctx.term()
        time.sleep(1.5)
        bad = metric(s.ports["router"], "rexian_frames_bad_total")
        c.equal(bad, 7.0 * 20, "every malformed frame counted and dropped")
        c.equal(s.health(s.ports["router"]), 200, "router still healthy")
        st, doc, _ = s.api("POST", "/v1/tickets", {"channel": "phone",
                                                   "caller": {"phone": "13800000001"},
                                                   "text": "城关镇人民路路灯坏了",
                                                   "address": "城关镇人民路"})
        wait_for(lambda: s.api("GET", "/v1/tickets/" + doc["id"])[1]["status"] == "dispatched",
                 "a real order still dispatched", 5)
        c.check(True, "routing continues after garbage")
        c.equal(s.redis("EXISTS", "{bx}:t:BX-0"), "0", "a frame for an unknown ticket wrote nothing")
    return c.done()


if __name__ == "__main__":
    raise SystemExit(main())
