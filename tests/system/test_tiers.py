"""test_tiers.py -- a city and two counties, each on its own host: a network namespace with its
own redis-server and the four services. The counties reach the city only across their own link
(a veth pair); the test reaches each host's HTTP ports over a management link of its own (the
root namespace does not forward, so the hosts cannot use those links to reach each other).

It checks: county orders appear at the city with the same states; a city dispatch reaches the
right county (by the city's place names, or by the caller's choice) and the county's status and
reply come back to the city's order; the city's router sends an order that no city department's
rule is sure of and that names a county's town down to that county by itself, while a city
department's matter stays at the city; a city supervisor's escalation (督办) reaches the county;
the link between a county and the city is cut under load and restored: the city then holds every
event exactly once and its per-county figures agree with the county's; a county whose feed
outgrows its bound raises the alarm and the city counts the loss; a county with a wrong key is
refused and the refusal is logged. Without network namespaces it fails, saying so.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness import BUILD, SECRET, SOURCE, TOKENS, Checks, Failure, http_call, sha, wait_for

RUN = "rxt%d" % (os.getpid() % 100000)  # prefix of this run's namespaces and links
CTL = os.path.join(BUILD, "services", "ctl", "rexianctl")
LAMP = "来电人反映：城关镇人民路路灯坏了一个月了"


def sh(*cmd, check=True):
    out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise Failure("%s: %s" % (" ".join(cmd), out.stderr.strip()))
    return out


class Net:
    """Namespaces and links: city <-> each county (the tier links) and root <-> each host
    (management, for the test only)."""

    def __init__(self):
        self.ns = []
        self.links = {}

    def host(self, name, index):
        ns = "%s-%s" % (RUN, name)
        sh("ip", "netns", "add", ns)
        self.ns.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        root_if, host_if = "%sm%d" % (RUN, index), "mgmt0"
        sh("ip", "link", "add", root_if, "type", "veth", "peer", "name", host_if, "netns", ns)
        sh("ip", "addr", "add", "198.19.%d.1/30" % index, "dev", root_if)
        sh("ip", "link", "set", root_if, "up")
        sh("ip", "-n", ns, "addr", "add", "198.19.%d.2/30" % index, "dev", host_if)
        sh("ip", "-n", ns, "link", "set", host_if, "up")
        self.links["mgmt%d" % index] = root_if
        return ns, "198.19.%d.2" % index

    def link(self, city_ns, county_ns, index):
        """A tier link: city 198.18.N.1, county 198.18.N.2. Returns the city side's name."""
        city_if, county_if = "link%d" % index, "uplink"
        sh("ip", "-n", city_ns, "link", "add", city_if, "type", "veth", "peer", "name",
           county_if, "netns", county_ns)
        sh("ip", "-n", city_ns, "addr", "add", "198.18.%d.1/24" % index, "dev", city_if)
        sh("ip", "-n", county_ns, "addr", "add", "198.18.%d.2/24" % index, "dev", county_if)
        sh("ip", "-n", city_ns, "link", "set", city_if, "up")
        sh("ip", "-n", county_ns, "link", "set", county_if, "up")
        return city_if

    def close(self):
        for ns in self.ns:
            sh("ip", "netns", "del", ns, check=False)  # takes its veth ends (and peers) along
        for root_if in self.links.values():
            sh("ip", "link", "del", root_if, check=False)


class Host:
    """One tier on one host: redis-server, intake, router, watcher, notifier, webhook receiver."""

    def __init__(self, base, ns, ip, key, kind, prefix, tier_lines, extra=""):
        self.ns, self.ip, self.key, self.kind = ns, ip, key, kind
        self.dir = os.path.join(base, key)
        os.makedirs(self.dir)
        self.procs = {}
        self.hooks = os.path.join(self.dir, "webhooks.jsonl")
        deploy = os.path.join(SOURCE, "deploy")
        tokens = "".join("t-%s = %s %s\n" % (n, r, sha(n)) for n, r in TOKENS.items())
        tokens += "t-urban = unit:urban-management %s\n" % sha("unit-urban")
        self.config = os.path.join(self.dir, "rexian.conf")
        with open(self.config, "w") as f:
            f.write(f"""[tier]
key = {key}
kind = {kind}
id_prefix = {prefix}
{tier_lines}
[redis]
host = 127.0.0.1
port = 6379
[files]
units = {deploy}/beixian/units.conf
catalogue = {deploy}/beixian/catalogue.conf
calendar = {deploy}/calendar
[intake]
http = {ip}:8345
[router]
http = 127.0.0.1:8347
[watcher]
http = 127.0.0.1:8348
[notifier]
http = {ip}:8349
webhook = http://127.0.0.1:8346/hook/{{unit}}
secret = {SECRET}
supervisor_webhook = http://127.0.0.1:8346/hook/supervisor
dispatcher_webhook = http://127.0.0.1:8346/hook/dispatcher
citizen_webhook = http://127.0.0.1:8346/hook/citizen
[delivery]
redeliver_after = 2s
lease = 5s
heartbeat = 1s
{extra}
[tokens]
{tokens}""")

    def run(self, name, cmd):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(["ip", "netns", "exec", self.ns] + cmd, stdout=log,
                                            stderr=log)

    def start(self):
        self.run("redis", ["redis-server", "--port", "6379", "--bind", "127.0.0.1", "--dir",
                           self.dir, "--appendonly", "yes", "--appendfsync", "always",
                           "--save", ""])
        wait_for(lambda: self.redis("PING") == "PONG", "redis on " + self.key)
        self.run("receiver", ["/usr/bin/python3", os.path.join(SOURCE, "scripts",
                                                                "webhook-receiver"),
                              "--host", "127.0.0.1", "--port", "8346", "--out", self.hooks,
                              "--secret", SECRET, "--quiet"])
        for name in ("intake", "router", "watcher", "notifier"):
            self.start_service(name)
        wait_for(lambda: self.status(8345, "/healthz") == 200, self.key + " intake")
        wait_for(lambda: self.status(8349, "/healthz") == 200, self.key + " notifier")

    def start_service(self, name, config=None, key=None):
        self.run(key or name, [os.path.join(BUILD, "services", name, "rexian-" + name), "-c",
                               config or self.config])

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        for name in list(self.procs):
            self.stop(name)

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def redis(self, *args):
        out = subprocess.run(["ip", "netns", "exec", self.ns, "redis-cli", "-p", "6379",
                              "--raw"] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None

    def status(self, port, path):
        try:
            return http_call("GET", self.ip, port, path, timeout=2)[0]
        except OSError:
            return None

    def api(self, method, path, body=None, token="operator"):
        h = {"Authorization": "Bearer " + token} if token else {}
        data = json.dumps(body).encode() if body is not None else None
        st, _, text = http_call(method, self.ip, 8345, path, data, h)
        try:
            return st, json.loads(text) if text else None
        except ValueError:
            return st, None

    def metrics(self):
        st, _, text = http_call("GET", self.ip, 8349, "/metrics", timeout=3)
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def create(self, text=LAMP, address="城关镇人民路", phone="13800000001"):
        st, doc = self.api("POST", "/v1/tickets", {"channel": "phone", "caller": {"phone": phone},
                                                   "text": text, "address": address})
        if st != 201:
            raise Failure("create at %s: %s %s" % (self.key, st, doc))
        return doc["id"]

    def ticket(self, tid):
        return self.api("GET", "/v1/tickets/" + tid, token="dispatcher")[1]

    def statuses(self):
        """Every order's status, from the county's own list."""
        out, offset = {}, 0
        while True:
            st, doc = self.api("GET", "/v1/tickets?limit=100&offset=%d" % offset,
                               token="supervisor")
            items = doc.get("tickets") or doc.get("items") or []
            for t in items:
                out[t["id"]] = t["status"]
            offset += len(items)
            if not items or offset >= doc.get("total", 0):
                return out

    def events_added(self):
        info = self.redis("XINFO", "STREAM", "{%s}:events" % self.key)
        lines = (info or "").splitlines()
        for i, l in enumerate(lines):
            if l == "entries-added":
                return int(lines[i + 1])
        return None

    def webhooks(self):
        if not os.path.exists(self.hooks):
            return []
        with open(self.hooks) as f:
            return [json.loads(line) for line in f if line.strip()]


def city_orders(city, county):
    out, offset = {}, 0
    while True:
        st, doc = city.api("GET", "/v1/tiers/orders?county=%s&limit=100&offset=%d"
                           % (county, offset), token="supervisor")
        for o in doc["orders"]:
            out[o["id"]] = o["status"]
        offset += len(doc["orders"])
        if not doc["orders"] or offset >= doc["total"]:
            return out


def county_figures(city, county):
    st, doc = city.api("GET", "/v1/tiers/counties", token="supervisor")
    for c in doc["counties"]:
        if c["county"] == county:
            return c
    return None


def keys(base, name):
    out = sh(CTL, "keys", "new", name, "--dir", base)
    return out.stdout.strip()


def namespaces_work():
    probe = "%s-probe" % RUN
    out = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if out.returncode != 0:
        return out.stderr.strip() or "ip netns add failed"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def main():
    c = Checks()
    why = namespaces_work() if shutil.which("ip") else "the ip command is missing"
    if why is not None:
        print("network namespaces are not available here (%s): this test needs them (root and "
              "iproute2) and cannot pass without them" % why, flush=True)
        c.check(False, "network namespaces available")
        return c.done()
    base = tempfile.mkdtemp(prefix="rexian-tiers-")
    net, hosts = Net(), []
    try:
        run(c, base, net, hosts)
    except Exception as e:
        c.check(False, "unexpected: %r" % e)
        for h in hosts:
            for name in ("intake", "notifier"):
                print("--- %s %s\n%s" % (h.key, name, "".join(h.log(name).splitlines(True)[-25:])))
    finally:
        for h in hosts:
            h.close()
        net.close()
        if os.environ.get("REXIAN_KEEP_TEST_DIR"):
            print("kept", base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    return c.done()


def run(c, base, net, hosts):
    kdir = os.path.join(base, "keys")
    os.makedirs(kdir)
    for name in ("hc", "bx", "nx", "rogue"):
        keys(kdir, name)
    city_ns, city_ip = net.host("city", 0)
    bx_ns, bx_ip = net.host("bx", 1)
    nx_ns, nx_ip = net.host("nx", 2)
    link_bx = net.link(city_ns, bx_ns, 1)
    link_nx = net.link(city_ns, nx_ns, 2)
    counties = os.path.join(base, "counties.conf")
    with open(counties, "w") as f:
        f.write(f"""[county bx]
name = 北县
public_key = {kdir}/bx.pub
link = tcp://198.18.1.2:7401
places = 北县, 城关镇
[county nx]
name = 南县
public_key = {kdir}/nx.pub
link = tcp://198.18.2.2:7401
places = 南县, 河口镇
""")
    city = Host(base, city_ns, city_ip, "hc", "city", "HC", f"""public_key = {kdir}/hc.pub
secret_key = {kdir}/hc.key
link = tcp://0.0.0.0:7400
counties = {counties}""")

    def county_lines(key, index, bound=1000000):
        return f"""parent = tcp://198.18.{index}.1:7400
parent_key = {kdir}/hc.pub
public_key = {kdir}/{key}.pub
secret_key = {kdir}/{key}.key
link = tcp://0.0.0.0:7401
feed_bound = {bound}"""

    bx = Host(base, bx_ns, bx_ip, "bx", "county", "BX", county_lines("bx", 1))
    nx = Host(base, nx_ns, nx_ip, "nx", "county", "NX", county_lines("nx", 2, 200))
    hosts.extend([city, bx, nx])
    for h in hosts:
        h.start()

    # -- the counties' links come up, encrypted and let in by key ---------------------------------
    wait_for(lambda: all((county_figures(city, k) or {}).get("link", {}).get("up")
                         for k in ("bx", "nx")), "both counties' links up at the city", 20)
    c.check(True, "both counties' links are up at the city")
    c.check(re.search(r"link\.connected tier=bx", city.log("intake")) is not None,
            "the city logged bx's connection under its key's name")
    c.equal(city.status(8345, "/healthz"), 200, "city intake healthy")

    # -- county orders appear at the city with the same states -----------------------------------
    ids = [bx.create(phone="1380000%04d" % i) for i in range(12)]
    nx_ids = [nx.create(phone="1390000%04d" % i) for i in range(4)]
    wait_for(lambda: all(bx.ticket(t)["status"] == "dispatched" for t in ids), "bx dispatched", 15)
    for t in ids[:6]:
        st, doc = bx.api("POST", "/v1/tickets/%s/ack" % t, {}, token="unit-urban")
        c.equal(st, 200, "ack %s at bx" % t)
    for t in ids[:3]:
        st, doc = bx.api("POST", "/v1/tickets/%s/reply" % t, {"text": "已修复路灯"},
                         token="unit-urban")
        c.equal(st, 200, "reply %s at bx" % t)
    try:
        wait_for(lambda: city_orders(city, "bx") == bx.statuses(), "city's bx orders = bx's", 20)
        c.check(True, "the city holds every bx order in its county state")
    except Failure:
        c.equal(city_orders(city, "bx"), bx.statuses(), "bx orders at the city")
    wait_for(lambda: all(nx.ticket(t)["status"] == "dispatched" for t in nx_ids), "nx dispatched",
             15)
    wait_for(lambda: city_orders(city, "nx") == nx.statuses(), "nx orders at the city", 15)
    st, doc = city.api("GET", "/v1/tiers/orders?county=bx&state=acknowledged", token="supervisor")
    c.equal(doc["total"], 3, "filter by state: three bx orders acknowledged (three replied)")
    st, doc = city.api("GET", "/v1/tiers/orders?unit=urban-management", token="supervisor")
    c.equal(doc["total"], 16, "filter by unit across counties: 16 street-lamp orders")
    st, doc = city.api("GET", "/v1/tiers/orders/bx/" + ids[0], token="supervisor")
    c.equal(doc["order"]["status"], "replied", "one county order at the city: its state")
    c.equal(doc["order"].get("reply_text"), "已修复路灯", "... and the unit's reply")
    c.equal([e["type"] for e in doc["timeline"]][:2], ["received", "dispatched"],
            "... and its timeline, in the county's order")
    st, doc = city.api("GET", "/v1/tiers/orders?county=bx", token="unit-urban")
    c.equal(st, 403, "a unit token cannot read county orders at the city")
    st, doc = bx.api("GET", "/v1/tiers/orders", token="supervisor")
    c.equal(st, 404, "a county has no city views")

    # -- city -> county: by place name, and by the caller's choice --------------------------------
    cid = city.create(text="来电人反映：北县城关镇人民路路灯坏了一个月了", address="北县城关镇人民路")
    st, doc = city.api("POST", "/v1/tiers/dispatch", {"ticket": cid}, token="dispatcher")
    c.equal((st, (doc or {}).get("county")), (202, "bx"), "dispatch by the city's place names")
    wait_for(lambda: city.redis("HGET", "{hc}:t:" + cid, "down_state") == "accepted",
             "bx accepted the city order", 15)
    ctid = city.redis("HGET", "{hc}:t:" + cid, "county_ticket")
    c.check(ctid and ctid.startswith("BX-"), "the city order names the county order: %s" % ctid)
    t = bx.ticket(ctid)
    c.equal(t["channel"], "city", "the county order came from the city")
    c.equal(bx.redis("HGET", "{bx}:t:" + ctid, "city_origin"), cid, "it remembers its city origin")
    wait_for(lambda: bx.ticket(ctid)["status"] == "dispatched", "routed at bx", 10)
    bx.api("POST", "/v1/tickets/%s/ack" % ctid, {}, token="unit-urban")
    st, _ = bx.api("POST", "/v1/tickets/%s/reply" % ctid, {"text": "路灯已修复"},
                   token="unit-urban")
    wait_for(lambda: city.redis("HGET", "{hc}:t:" + cid, "county_status") == "replied",
             "the county's status on the city order", 15)
    c.equal(city.redis("HGET", "{hc}:t:" + cid, "county_reply"), "路灯已修复",
            "the county's reply on the city order")
    c.check(city.redis("HGET", "{hc}:t:" + cid, "county_close_due") not in (None, ""),
            "the county's close deadline on the city order")
    view = city.ticket(cid)
    c.equal((view.get("county") or {}).get("status"), "replied",
            "the city order's view shows the county's status")
    c.check((view.get("county") or {}).get("deadlines", {}).get("close") is not None,
            "... and the county's close deadline: %s" % view.get("county"))
    tl = view["timeline"]
    c.check(any(e.get("what") == "county.reply" and e.get("note") == "路灯已修复" for e in tl),
            "the city order's timeline shows the county's reply")
    cid2 = city.create(text="河边的垃圾没人清理", address="")
    st, doc = city.api("POST", "/v1/tiers/dispatch", {"ticket": cid2, "county": "nx"},
                       token="dispatcher")
    c.equal((st, (doc or {}).get("county")), (202, "nx"), "dispatch by the caller's choice")
    wait_for(lambda: city.redis("HGET", "{hc}:t:" + cid2, "down_state") == "accepted",
             "nx accepted", 15)
    st, doc = city.api("POST", "/v1/tiers/dispatch", {"ticket": cid2, "county": "nx"},
                       token="dispatcher")
    c.equal(st, 409, "an order goes down once")
    cid3 = city.create(text="我想反映个事情", address="")
    st, doc = city.api("POST", "/v1/tiers/dispatch", {"ticket": cid3}, token="dispatcher")
    c.equal((st, (doc or {}).get("error", {}).get("code")), (422, "no_county"),
            "no place name, no county given: the dispatcher is told to name one")

    # -- the city's router sends county matters down by itself; city matters stay ---------------
    cid4 = city.create(text="来电人反映：有件事想反映一下，希望有关部门尽快处理",
                       address="南县河口镇河口街12号")
    wait_for(lambda: city.redis("HGET", "{hc}:t:" + cid4, "down_state") == "accepted",
             "nx accepted the order the city's router sent down", 15)
    c.equal(city.redis("HGET", "{hc}:t:" + cid4, "down_county"), "nx",
            "an order naming a county's town goes down to it with no dispatcher action")
    v4 = city.ticket(cid4)
    c.equal((v4["status"], v4.get("unit")), ("dispatched", "county:nx"),
            "the city order is dispatched to the county")
    c.check(any(e.get("what") == "dispatched" and e.get("role") == "router"
                and "county nx" in (e.get("note") or "") for e in v4["timeline"]),
            "its timeline says the router sent it down and to which county")
    c.check(cid4 not in (city.redis("ZRANGE", "{hc}:q:manual", "0", "-1") or ""),
            "it never waits in the city's manual queue")
    ctid4 = city.redis("HGET", "{hc}:t:" + cid4, "county_ticket")
    c.equal(nx.redis("HGET", "{nx}:t:%s" % ctid4, "city_origin"), cid4,
            "nx holds the order and remembers its city origin")
    st, doc = city.api("POST", "/v1/tiers/dispatch", {"ticket": cid4}, token="dispatcher")
    c.equal(st, 409, "a dispatcher cannot send it down a second time")
    cid5 = city.create(text=LAMP, address="城关镇人民路")
    wait_for(lambda: city.ticket(cid5)["status"] == "dispatched", "the city routes its own", 10)
    v5 = city.ticket(cid5)
    c.equal(v5.get("unit"), "urban-management",
            "a city department's matter stays at the city, though it names a county's town")
    time.sleep(1)
    c.equal(city.redis("HGET", "{hc}:t:" + cid5, "down_county") or "", "",
            "... and nothing of it went down")
    c.equal(city.ticket(cid3)["status"], "pending_dispatch",
            "an order naming no county waits in the city's manual queue")

    # -- escalation (督办) by a city supervisor ---------------------------------------------------
    st, doc = city.api("POST", "/v1/tiers/orders/bx/%s/escalate" % ids[4],
                       {"note": "请今日内处理并答复"}, token="supervisor")
    c.equal(st, 202, "a city supervisor escalates a county order")
    st, _ = city.api("POST", "/v1/tiers/orders/bx/%s/escalate" % ids[4], {"note": "x"},
                     token="dispatcher")
    c.equal(st, 403, "only supervisors escalate")
    wait_for(lambda: any(e.get("what") == "city.escalated" for e in bx.ticket(ids[4])["timeline"]),
             "the escalation on the county order", 15)
    c.check(True, "the escalation reached the county order's timeline")
    wait_for(lambda: [h for h in bx.webhooks() if h.get("event") == "city.escalated"
                      and h["path"] == "/hook/supervisor"], "county supervisor told", 15)
    c.check(True, "the county's supervisor was told of the city's escalation")
    wait_for(lambda: any(e["type"] == "city.escalated" for e in city.api(
        "GET", "/v1/tiers/orders/bx/" + ids[4], token="supervisor")[1]["timeline"]),
        "the escalation comes back up the feed", 15)
    c.check(True, "the city sees the county received the escalation")

    # -- the bx link is cut under load, then restored ----------------------------------------------
    made, failed = [], []

    def load():
        for i in range(240):
            try:
                made.append(bx.create(phone="1370000%04d" % i))
            except Exception as e:  # the county must keep working: counted as a failure
                failed.append(repr(e))
            time.sleep(0.02)

    th = threading.Thread(target=load)
    th.start()
    time.sleep(1.0)
    sh("ip", "-n", city_ns, "link", "set", link_bx, "down")
    cut_at = time.time()
    try:
        wait_for(lambda: bx.metrics().get("rexian_tier_link_up") == 0, "bx sees its link down", 10)
        c.check(True, "the county notices the link is down")
    except Failure:
        c.check(False, "the county notices the link is down")
    n_before = len(city_orders(city, "nx"))
    nx.create(phone="13900009999")
    wait_for(lambda: len(city_orders(city, "nx")) == n_before + 1, "nx goes on feeding", 10)
    c.check(True, "the city keeps taking nx's feed while bx is away")
    st, _ = city.api("POST", "/v1/tiers/orders/bx/%s/escalate" % ids[5], {"note": "尽快"},
                     token="supervisor")
    c.equal(st, 202, "the city keeps working while bx is away (an escalation waits for it)")
    m = bx.metrics()
    c.check(m.get("rexian_tier_feed_pending", 0) > 0, "bx's feed waits in Redis: %s pending"
            % m.get("rexian_tier_feed_pending"))
    time.sleep(max(0, 6 - (time.time() - cut_at)))
    sh("ip", "-n", city_ns, "link", "set", link_bx, "up")
    th.join()
    c.equal(failed, [], "bx kept taking orders while its city was away")
    c.equal(len(made), 240, "240 orders made at bx under load")
    wait_for(lambda: all(bx.ticket(t)["status"] == "dispatched" for t in made[-5:]),
             "bx settles", 20)

    def caught_up():
        f = county_figures(city, "bx")
        return f["feed"]["stored"] == bx.events_added() and f["feed"]["pending_at_county"] == 0

    try:
        wait_for(caught_up, "the city catches up with bx", 40)
        c.check(True, "the city caught up with bx after the link came back")
    except Failure:
        c.check(False, "the city caught up with bx: %s vs %s added at bx" % (
            county_figures(city, "bx")["feed"], bx.events_added()))
    f = county_figures(city, "bx")
    added = bx.events_added()
    c.equal(int(city.redis("XLEN", "{hc}:cev:bx")), added,
            "every bx event at the city, each once (stream length = events bx ever added)")
    last = bx.redis("XINFO", "STREAM", "{bx}:events").splitlines()
    last_id = last[last.index("last-generated-id") + 1]
    c.equal(f["feed"]["last_id"], last_id, "the city's last bx id is bx's last id")
    c.equal(f["feed"]["gaps"], 0, "no gap in bx's feed")
    c.check(f["feed"]["duplicates"] >= 0 and f["feed"]["holes_resent"] >= 0,
            "resends were refused as duplicates: %s dups" % f["feed"]["duplicates"])
    stat = dict(zip(*[iter((bx.redis("HGETALL", "{bx}:stat") or "").splitlines())] * 2))
    c.equal(f["events"].get("received"), int(stat.get("received", -1)),
            "orders received: the city's count of bx = bx's own")
    c.equal(f["events"].get("dispatched"), int(stat.get("dispatched", -1)),
            "dispatches: the city's count of bx = bx's own")
    c.equal(f["orders"], int(bx.redis("ZCARD", "{bx}:ix:all")), "bx's orders, counted at the city")
    c.equal(city_orders(city, "bx"), bx.statuses(), "every bx order in the same state at the city")
    c.check(0 < f["link"]["uptime"] < 1, "bx's uptime shows the outage: %.3f" % f["link"]["uptime"])
    c.equal(f["feed"]["lag_ms"], 0, "no lag once caught up")
    xlen = int(bx.redis("XLEN", "{bx}:events"))
    c.check(xlen <= 2, "bx trimmed its stream below the city's ack (%d left)" % xlen)
    wait_for(lambda: any(e.get("what") == "city.escalated" for e in bx.ticket(ids[5])["timeline"]),
             "the escalation made while bx was away arrives", 15)
    c.check(True, "the escalation sent while bx was away arrived after the outage")

    # -- a county past its bound: the alarm, then the loss, counted on both sides -----------------
    sh("ip", "-n", city_ns, "link", "set", link_nx, "down")
    wait_for(lambda: nx.metrics().get("rexian_tier_link_up") == 0, "nx link down", 10)
    for i in range(130):
        nx.create(phone="1360000%04d" % i)
    wait_for(lambda: nx.metrics().get("rexian_tier_feed_alarm") == 1, "nx alarm", 15)
    c.check(True, "nx's alarm is up as its feed nears the bound")
    wait_for(lambda: nx.metrics().get("rexian_tier_feed_lost", 0) > 0, "nx loses the oldest", 15)
    lost = nx.metrics()["rexian_tier_feed_lost"]
    c.check(int(nx.redis("XLEN", "{nx}:events")) <= 200, "nx's stream never outgrows its bound")
    c.check("feed.alarm" in nx.log("notifier"), "nx logged the alarm")
    sh("ip", "-n", city_ns, "link", "set", link_nx, "up")
    wait_for(lambda: county_figures(city, "nx")["feed"]["pending_at_county"] == 0 and
             county_figures(city, "nx")["feed"]["lost_at_county"] == lost, "nx catches up", 30)
    f = county_figures(city, "nx")
    c.equal(f["feed"]["lost_at_county"], int(lost), "the city reports nx's loss as nx counts it")
    c.check(f["feed"]["gaps"] >= 1, "the city counted the gap in nx's feed")
    c.equal(f["feed"]["last_id"], nx.redis("XINFO", "STREAM", "{nx}:events").splitlines()[
        nx.redis("XINFO", "STREAM", "{nx}:events").splitlines().index("last-generated-id") + 1],
        "and then has everything nx still had")
    wait_for(lambda: nx.metrics().get("rexian_tier_feed_alarm") == 0, "nx alarm cleared", 10)
    c.check(True, "nx's alarm clears once the city has the feed")

    # -- a county with a wrong key is refused, and the refusal logged -----------------------------
    rogue_conf = os.path.join(nx.dir, "rogue.conf")
    with open(nx.config) as f:
        text = f.read()
    text = text.replace("public_key = %s/nx.pub" % kdir, "public_key = %s/rogue.pub" % kdir)
    text = text.replace("secret_key = %s/nx.key" % kdir, "secret_key = %s/rogue.key" % kdir)
    text = text.replace("key = nx\n", "key = bx\n", 1).replace("link = tcp://0.0.0.0:7401\n", "")
    text = re.sub(r"\[intake\]\nhttp = [^\n]*\n", "[intake]\nhttp = 127.0.0.1:0\n", text)
    text = re.sub(r"\[notifier\]\nhttp = [^\n]*\n", "[notifier]\nhttp = %s:8350\n" % nx.ip, text)
    with open(rogue_conf, "w") as f:
        f.write(text)
    nx.start_service("notifier", rogue_conf, "rogue")
    rogue_pub = open(os.path.join(kdir, "rogue.pub")).read().strip()
    try:
        wait_for(lambda: "link.refused key=%s" % rogue_pub in city.log("intake"),
                 "the city refuses the wrong key", 15)
        c.check(True, "a county with a wrong key is refused, and the city logs its key")
    except Failure:
        c.check(False, "a county with a wrong key is refused and logged")
    time.sleep(2)
    st, _, text = http_call("GET", nx.ip, 8350, "/metrics")
    c.check("rexian_tier_link_up 0" in text, "the wrong-key county's link never comes up")
    # the allow-list is read again when it changes; a key lets in only the tier it is listed as
    with open(counties, "a") as f:
        f.write("[county rg]\nname = 试验\npublic_key = %s/rogue.pub\n" % kdir)
    try:
        wait_for(lambda: "link.wrong_tier key_of=rg frame_says=bx" in city.log("intake"),
                 "the listed key speaking for another tier is dropped", 30)
        c.check(True, "a newly listed key is let in after the reload, under its own name only")
    except Failure:
        c.check(False, "the reloaded allow-list lets the new key in, under its own name only")
    c.check("link.counties_reloaded counties=3" in city.log("intake"),
            "the city reloaded the counties file without a restart")
    f = county_figures(city, "bx")
    c.equal(f["feed"]["stored"], bx.events_added(), "bx's figures at the city are untouched")


if __name__ == "__main__":
    sys.exit(main())
