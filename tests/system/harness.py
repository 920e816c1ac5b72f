"""harness.py -- starts a real redis-server and the real service binaries for a system test.

Every test gets its own temporary folder, a free port for each listener, its own config file
(the demo county's units, catalogue and calendar, with the test's settings), and tears all of
it down at the end. Nothing here imitates a service: the processes are the built binaries.
"""
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SOURCE = os.environ.get("REXIAN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("REXIAN_BUILD_DIR", os.path.join(SOURCE, "build"))
TOKENS = {
    "operator": "operator", "dispatcher": "dispatcher", "supervisor": "supervisor",
    "callback": "callback", "admin": "admin",
}
SECRET = "test-webhook-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest()


class Failure(Exception):
    pass


class Checks:
    """Counts checks and prints each failure; ends with the plain 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAILED:", what, flush=True)
        return cond

    def equal(self, got, want, what):
        return self.check(got == want, "%s: got %r, want %r" % (what, got, want))

    def done(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1


class System:
    """redis-server + intake + router + watcher + notifier + webhook receiver."""

    def __init__(self, policy=None, extra="", watcher_offset=None, receiver_args=(), offset=None):
        self.dir = tempfile.mkdtemp(prefix="rexian-test-")
        self.procs = {}
        self.redis_port = free_port()
        self.api_port = free_port()
        self.hook_port = free_port()
        self.ports = {s: free_port() for s in ("router", "watcher", "notifier")}
        self.extra_ports = {}  # process key of a second instance -> its HTTP port
        self.offset = offset  # [test] time_offset of every service, e.g. "-58d" (None: real time)
        self.policy = policy or {}
        self.extra = extra
        self.watcher_offset = watcher_offset
        self.receiver_args = list(receiver_args)
        self.hooks = os.path.join(self.dir, "webhooks.jsonl")

    # -- config -----------------------------------------------------------------------------
    def config_text(self, offset=None, ports=None, more=""):
        """The config file: offset is its [test] time_offset, ports overrides a service's HTTP
        port (name -> port, "intake" included), more is appended as it is (INI lines)."""
        ports = dict(dict(self.ports, intake=self.api_port), **(ports or {}))
        deploy = os.path.join(SOURCE, "deploy")
        policy = ""
        for urgency in ("emergency", "urgent", "normal"):
            spans = self.policy.get(urgency)
            if spans:
                policy += "[policy.%s]\n" % urgency
                policy += "".join("%s = %s\n" % kv for kv in spans.items())
        tokens = "".join("t-%s = %s %s\n" % (name, role, sha(name)) for name, role in TOKENS.items())
        tokens += "t-urban = unit:urban-management %s\n" % sha("unit-urban")
        tokens += "t-chengguan = unit:town-chengguan %s\n" % sha("unit-chengguan")
        hook = "http://127.0.0.1:%d/hook" % self.hook_port
        return f"""[tier]
key = bx
kind = county
id_prefix = BX
[redis]
host = 127.0.0.1
port = {self.redis_port}
[files]
units = {deploy}/beixian/units.conf
catalogue = {deploy}/beixian/catalogue.conf
calendar = {deploy}/calendar
[intake]
http = 127.0.0.1:{ports['intake']}
[router]
http = 127.0.0.1:{ports['router']}
[watcher]
http = 127.0.0.1:{ports['watcher']}
interval = 1s
[notifier]
http = 127.0.0.1:{ports['notifier']}
webhook = {hook}/{{unit}}
secret = {SECRET}
supervisor_webhook = {hook}/supervisor
dispatcher_webhook = {hook}/dispatcher
citizen_webhook = {hook}/citizen
timeout = 2s
[delivery]
redeliver_after = 2s
lease = 5s
heartbeat = 1s
{policy}{self.extra}
[tokens]
{tokens}""" + ("[test]\ntime_offset = %s\n" % offset if offset else "") + more

    def write_config(self, name, offset=None, ports=None, more=""):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(self.config_text(offset, ports, more))
        return path

    # -- processes --------------------------------------------------------------------------
    def start_redis(self):
        self.procs["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--appendonly", "yes", "--appendfsync", "always",
             "--save", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.redis("PING") == "PONG", "redis-server to answer")

    def start_service(self, name, config=None, key=None):
        cfg = config or self.config
        log = open(os.path.join(self.dir, "%s.log" % (key or name)), "ab")
        binary = os.path.join(BUILD, "services", name, "rexian-" + name)
        self.procs[key or name] = subprocess.Popen([binary, "-c", cfg], stdout=log, stderr=log)

    def start(self):
        self.config = self.write_config("rexian.conf", self.offset)
        self.start_redis()
        self.procs["receiver"] = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(SOURCE, "scripts", "webhook-receiver"), "--host", "127.0.0.1",
             "--port", str(self.hook_port), "--out", self.hooks, "--secret", SECRET]
            + self.receiver_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in ("intake", "router", "notifier"):
            self.start_service(name)
        wcfg = self.config
        if self.watcher_offset:
            wcfg = self.write_config("watcher.conf", self.watcher_offset)
        self.start_service("watcher", wcfg)
        wait_for(lambda: self.health(self.api_port) == 200, "intake /healthz")
        for name, port in self.ports.items():
            wait_for(lambda: self.health(port) == 200, "%s /healthz" % name)
        wait_for(lambda: self.port_open(self.hook_port), "webhook receiver")
        # producers find consumers through the registry within a heartbeat
        wait_for(lambda: all(int(self.redis("ZCARD", "{bx}:svc:" + s)) >= 1
                             for s in ("router", "watcher", "notifier")), "instance registry")
        time.sleep(1.2)
        return self

    def restart(self, name, offset=None, key=None, more="", wait=True):
        """(Re)starts service `name` as process `key` (default: the name) with a config file of
        its own: the system's settings, `[test] time_offset = offset` (None: the system's) and
        `more` (INI lines appended). The process under that key is stopped first (SIGTERM). A
        key other than the name is a further instance and gets its own HTTP port. Returns that
        port, once its /healthz answers unless wait is False."""
        key = key or name
        self.stop(key)
        port = self.api_port if name == "intake" else self.ports[name]
        if key != name:
            port = self.extra_ports.setdefault(key, free_port())
        path = self.write_config(key + ".conf", offset if offset is not None else self.offset,
                                 {name: port}, more)
        self.start_service(name, path, key)
        if wait:
            wait_for(lambda: self.health(port) == 200, "%s /healthz" % key)
        return port

    def stop(self, name, sig=signal.SIGTERM):
        p = self.procs.pop(name, None)
        if p is not None and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        for name in list(self.procs):
            self.stop(name)
        if os.environ.get("REXIAN_KEEP_TEST_DIR"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".log"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append("--- %s\n%s" % (name, "".join(f.readlines()[-20:])))
        return "\n".join(out)

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            print(self.logs())
            self.close()
            raise

    def __exit__(self, *exc):
        if exc[0] is not None:
            print(self.logs())
        self.close()

    # -- talking to it ------------------------------------------------------------------------
    def redis(self, *args):
        """One command through redis-cli --raw: the text answer (lists one item a line)."""
        out = subprocess.run(["redis-cli", "-p", str(self.redis_port), "--raw"] + list(args),
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None

    def port_open(self, port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    def health(self, port):
        try:
            status, _, _ = http_call("GET", "127.0.0.1", port, "/healthz")
            return status
        except OSError:
            return None

    def api(self, method, path, body=None, token="operator", raw=None, headers=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        status, hdrs, text = http_call(method, "127.0.0.1", self.api_port, path, data, h)
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        return status, doc, hdrs

    def webhooks(self):
        if not os.path.exists(self.hooks):
            return []
        with open(self.hooks) as f:
            return [json.loads(line) for line in f if line.strip()]


def http_call(method, host, port, path, data=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def wait_for(cond, what, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if cond():
                return True
        except Exception:
            pass
        time.sleep(0.05)
    raise Failure("timed out waiting for " + what)
