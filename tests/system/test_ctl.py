"""test_ctl.py -- rexianctl in the hands of its users: an operator records a call, the unit
lists, shows, acknowledges and replies with evidence, the follow-up call rates it, dispatchers
review returns, supervisors decide extensions, orders are merged, rejected and resolved; a unit
pauses the clocks, explains and claims an unfair rating, a supervisor rules; supervisors read
the day's metrics, check them against the timelines, drill down to the orders, export the
monthly circular as CSV, audit the claims and read the overdue board; anyone computes a
deadline offline. Runs the built rexianctl against the real services and checks what the user
sees (stdout lines, stderr, exit codes) and the order's state through the API."""
import csv
import io
import json
import os
import re
import subprocess
import tempfile
import time

from harness import BUILD, SOURCE, Checks, System, wait_for

CTL = os.path.join(BUILD, "services", "ctl", "rexianctl")
LAMP_TEXT = "来电人反映：城关镇人民路路灯坏了一个月了"
LAMP_ADDRESS = "城关镇人民路"
VAGUE_TEXT = "你好，我想反映个事情"
RESULT = r"(BX-\d{8}-\d{6}) (\S+)(?: into (BX-\d{8}-\d{6}))?(?: claim (\d+))? \(rev (\d+)\)"


class Ctl:
    """Runs rexianctl as a user would and checks what it prints."""

    def __init__(self, s, c):
        self.s, self.c = s, c
        self.url = "http://127.0.0.1:%d" % s.api_port

    def run(self, token, *args, stdin=None, json_out=False):
        cmd = [CTL, "--url", self.url, "--token", token] + (["--json"] if json_out else [])
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, input=stdin,
                           timeout=30, env=dict(os.environ, LANG="C.UTF-8"))
        return p.returncode, p.stdout, p.stderr

    def api(self, tid, token="supervisor"):
        return self.s.api("GET", "/v1/tickets/" + tid, token=token)[1]

    def step(self, token, *args, want_status, stdin=None):
        """A step that must work: exit 0 and one line 'ID STATUS (rev N)' matching the API."""
        rc, out, err = self.run(token, *args, stdin=stdin)
        what = "%s %s by %s" % (args[0], args[1], token)
        self.c.equal(rc, 0, "%s exits 0 (stderr: %s)" % (what, err.strip()))
        lines = out.splitlines()
        m = re.fullmatch(RESULT, lines[0]) if len(lines) == 1 else None
        if not self.c.check(m is not None, "%s prints one result line: %r" % (what, out)):
            return None
        self.c.equal((m.group(1), m.group(2)), (args[1], want_status), what + " result line")
        t = self.api(args[1])
        self.c.equal((t["status"], t["rev"]), (want_status, int(m.group(5))),
                     what + ": the printed status and revision are the order's")
        return m

    def refused(self, token, *args, want_rc, want, stdin=None):
        """A command that must fail: its exit code, nothing on stdout, the reason on stderr."""
        rc, out, err = self.run(token, *args, stdin=stdin)
        what = " ".join(args[:2]) + " by " + token
        self.c.equal(rc, want_rc, what + " exit code (stderr: %s)" % err.strip())
        self.c.equal(out, "", what + " prints nothing on stdout")
        for w in want:
            self.c.check(w in err, "%s says %r: %r" % (what, w, err))
        return err

    def create(self, text=LAMP_TEXT, phone="13800000001", status="dispatched", address=None):
        args = ["create", "--phone", phone, "--text", text]
        if address:
            args += ["--address", address]
        rc, out, err = self.run("operator", *args)
        self.c.equal(rc, 0, "create exits 0 (stderr: %s)" % err.strip())
        tid = out.strip()
        self.c.check(re.fullmatch(r"BX-\d{8}-\d{6}", tid) and out.count("\n") == 1,
                     "create prints only the id: %r" % out)
        wait_for(lambda: self.api(tid)["status"] == status, "%s %s" % (tid, status), 8)
        if status == "dispatched":
            wait_for(lambda: "return_due" in self.api(tid), "clocks of " + tid, 8)
        return tid


def line_of(text, start):
    """The first line of text that starts with start, or ''."""
    return next((ln for ln in text.splitlines() if ln.startswith(start)), "")


def section(text, title):
    """The lines of a section of show's page: from its title (the whole line, or the line's
    start before " (") to the next blank line."""
    lines = text.splitlines()
    heads = [i for i, ln in enumerate(lines) if ln == title or ln.startswith(title + " (")]
    if not heads:
        return []
    out = []
    for ln in lines[heads[0] + 1:]:
        if not ln.strip():
            break
        out.append(ln)
    return out


def beijing(ms, days=0):
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(ms / 1000 + 8 * 3600 + days * 86400))


def today():
    """Today's date in Beijing time, and its day number (the metrics' days since 1970)."""
    now = time.time() + 8 * 3600
    return time.strftime("%Y-%m-%d", time.gmtime(now)), int(now // 86400)


def rate(v):
    """A rate as rexianctl prints it in a table."""
    return "-" if v is None else "%.2f" % v


def offline(*args, cwd=SOURCE, env=None):
    """rexianctl without a server (due)."""
    p = subprocess.run([CTL] + list(args), capture_output=True, text=True, timeout=30, cwd=cwd,
                       env=dict(os.environ, LANG="C.UTF-8", **(env or {})))
    return p.returncode, p.stdout, p.stderr


def fairness(s, u, c):
    """pause/resume, an explanation, a claim on an unfair rating and its ruling; then what
    supervisors read: the day's metrics, the recomputation, the orders behind a number, the
    circular as CSV and the claims audit."""
    # -- pause and resume: the paused time does not count --------------------------------------
    fair = u.create()
    before = u.api(fair)["deadlines"]
    u.step("unit-urban", "pause", fair, "--reason", "等待来电人提供具体位置",
           want_status="dispatched")
    t = u.api(fair)
    c.equal([t["deadlines"][st]["state"] for st in ("ack", "reply", "close")],
            ["paused"] * 3, "pause stops the three clocks")
    rc, out, err = u.run("unit-urban", "show", fair)
    paused = line_of(out, "  paused")
    c.check(paused.startswith("  paused      since 20") and
            paused.endswith(": 等待来电人提供具体位置"), "show: paused since when and why: %r" % paused)
    u.refused("unit-urban", "pause", fair, "--reason", "again", want_rc=1,
              want=["409 illegal_step", "already paused"])
    u.refused("unit-chengguan", "pause", fair, "--reason", "x", want_rc=1, want=["404"])
    time.sleep(0.4)
    u.step("supervisor", "resume", fair, "--note", "来电人已补充地址", want_status="dispatched")
    t = u.api(fair)
    c.equal([t["deadlines"][st]["state"] for st in ("ack", "reply", "close")],
            ["running"] * 3, "resume starts them again")
    moved = t["deadlines"]["close"]["due_ms"] - before["close"]["due_ms"]
    c.check(moved >= 400 and t["deadlines"]["close"]["paused_ms"] == moved,
            "the deadline moved by the time paused: %d ms" % moved)
    c.equal(line_of(u.run("unit-urban", "show", fair)[1], "  paused"), "",
            "show: no longer paused")
    u.refused("supervisor", "resume", fair, want_rc=1, want=["409 illegal_step", "not paused"])

    # -- an explanation with evidence, kept on the order ----------------------------------------
    u.step("unit-urban", "ack", fair, want_status="acknowledged")
    u.step("unit-urban", "explain", fair, "--text", "-", "--evidence",
           "现场照片.jpg,sha256:cd34,https://files.example/p?a=1,b=2",
           stdin="路灯线路属供电公司，已协调更换。\n", want_status="acknowledged")
    kept = [(e.get("note"), e.get("evidence")) for e in u.api(fair)["timeline"]
            if e["what"] == "explain"]
    c.equal(kept, [("路灯线路属供电公司，已协调更换。",
                    [{"name": "现场照片.jpg", "hash": "sha256:cd34",
                      "url": "https://files.example/p?a=1,b=2"}])],
            "the explanation and its evidence are on the timeline")
    u.refused("unit-urban", "explain", fair, want_rc=2, want=["explain needs --text"])

    # -- an unfair rating: the unit claims, a supervisor accepts ---------------------------------
    u.step("unit-urban", "reply", fair, "--text", "已修复", want_status="replied")
    u.step("callback", "rate", fair, "--rating", "unsatisfied", "--words", "我说的是低保的事",
           want_status="dispatched")
    u.refused("unit-urban", "claim", fair, "--kind", "rating", "--reason", "because", "--text",
              "x", want_rc=1, want=["400 invalid_value (reason)", "rating_not_about_unit"])
    u.refused("unit-urban", "claim", fair, "--kind", "rude", "--reason", "x", "--text", "x",
              want_rc=2, want=["--kind 'rude' must be one of: unreasonable, rating"])
    m = u.step("unit-urban", "claim", fair, "--kind", "rating", "--reason",
               "rating_not_about_unit", "--text", "来电人不满的是低保政策，与路灯无关",
               "--evidence", "通话录音.mp3,sha256:ef56", want_status="dispatched")
    c.check(m is not None and m.group(4) == "1", "claim prints the claim's number: %r"
            % (m and m.group(0)))
    u.refused("unit-urban", "claim", fair, "--kind", "rating", "--reason",
              "rating_not_about_unit", "--text", "again", want_rc=1,
              want=["409", "still waiting for a ruling"])
    u.refused("unit-urban", "rule", fair, "--claim", "1", "--decision", "accept", "--reason",
              "x", want_rc=1, want=["403 forbidden"])
    u.refused("supervisor", "rule", fair, "--claim", "2", "--decision", "accept", "--reason",
              "x", want_rc=1, want=["404 not_found", "no claim 2"])
    ruling = "评价针对低保政策，不计入满意度"
    u.step("supervisor", "rule", fair, "--claim", "1", "--decision", "accept", "--reason", ruling,
           want_status="dispatched")
    u.refused("supervisor", "rule", fair, "--claim", "1", "--decision", "reject", "--reason",
              "x", want_rc=1, want=["409 illegal_step", "ruled already (accepted)"])
    c.equal([(cl["status"], cl["ruled_by"], cl["ruling"]) for cl in u.api(fair)["claims"]],
            [("accepted", "t-supervisor", ruling)], "the ruling is on the order")
    rc, out, err = u.run("unit-urban", "show", fair)
    c.equal(line_of(out, "  claim "), "  claim       1 rating, rating_not_about_unit: accepted "
            "by t-supervisor (%s)" % ruling, "show: the claim and its ruling")

    # -- the claims audit ------------------------------------------------------------------------
    rc, out, err = u.run("supervisor", "claims", "--unit", "urban-management")
    words = line_of(out, fair).split()
    c.check(rc == 0 and words[1:6] == ["1", "urban-management", "rating",
                                      "rating_not_about_unit", "accepted"]
            and "t-supervisor" in words and words[-1] == ruling,
            "claims lists the claim and its ruling: %r" % words)
    c.check(out.endswith("\n1 claim\n"), "claims counts them: %r" % out[-40:])
    rc, out, err = u.run("supervisor", "claims", "--status", "pending")
    c.equal((rc, out), (0, "0 claims\n"), "no claim is waiting")
    rc, out, err = u.run("dispatcher", "claims", "--supervisor", "t-supervisor")
    c.check(rc == 0 and fair in out, "claims by the supervisor who ruled")
    u.refused("unit-urban", "claims", want_rc=1, want=["403 forbidden"])

    # -- today's metrics: the table shows the unit as the API counts it ---------------------------
    day, dayno = today()
    st, api, _ = s.api("GET", "/v1/metrics?day=" + day, token="supervisor")
    um = [x for x in api["units"] if x["unit"] == "urban-management"][0]
    cnt, rates = um["counts"], um["rates"]
    rc, out, err = u.run("supervisor", "metrics", "--day", day)
    c.equal(rc, 0, "metrics exits 0 (stderr: %s)" % err.strip())
    c.check(out.startswith("Period %s (thresholds: satisfaction 90%%" % day),
            "metrics names the day: %r" % out[:80])
    # UNIT RECV DISP ACK ACK% DUE CLOSED ON-TIME% CLOSE% RATED EXCL SAT% SAT%ALL OVERDUE ESC RET
    # REOPEN CLAIMS FLAGS...
    words = line_of(out, "urban-management ").split()
    want = ["urban-management", str(cnt["received"]), str(cnt["dispatched"]),
            str(cnt["acknowledged"]), rate(rates["ack_on_time_rate"]), str(cnt["due"]),
            str(cnt["closed"]), rate(rates["on_time_closure_rate"]), rate(rates["closure_rate"]),
            str(cnt["rated_satisfied"] + cnt["rated_basically_satisfied"]
                + cnt["rated_unsatisfied"]),
            str(cnt["excluded_satisfied"] + cnt["excluded_basically_satisfied"]
                + cnt["excluded_unsatisfied"]),
            rate(rates["satisfaction_rate"]), rate(rates["satisfaction_rate_without_exclusions"]),
            str(cnt["overdue"]), str(cnt["escalated"]), str(cnt["returned"]), str(cnt["reopened"]),
            "%d/%d/%d" % (cnt["claims"], cnt["claims_accepted"], cnt["claims_rejected"])]
    c.equal(words[:18], want, "the unit's row has the API's counts and rates")
    c.check(cnt["excluded_unsatisfied"] >= 1 and cnt["claims_accepted"] >= 1 and
            rates["satisfaction_rate"] != rates["satisfaction_rate_without_exclusions"],
            "the accepted claim took the unsatisfied rating out: %r %r" % (cnt, rates))
    tier = line_of(out, "(tier)").split()
    c.check(tier[:2] == ["(tier)", str(api["tier"]["counts"]["received"])],
            "the tier's line: %r" % tier)
    c.check("\nBy kind of unit\nKIND " in out and line_of(out, "department ") != "",
            "metrics shows the kinds of unit")
    rc, out, err = u.run("supervisor", "metrics", "--day", day, "--unit", "town-jiazhen")
    c.check(rc == 0 and line_of(out, "town-jiazhen ") != "" and "urban-management" not in out,
            "--unit shows that unit, even with nothing counted")
    u.refused("unit-urban", "metrics", want_rc=1, want=["403 forbidden"])
    u.refused("supervisor", "metrics", "--unit", "nowhere", want_rc=1,
              want=["400 invalid_value (unit)"])
    u.refused("supervisor", "metrics", "--day", "2025-02-30", want_rc=1,
              want=["400 invalid_value (period)"])

    # -- recomputation: agree, then a drifted counter is found -----------------------------------
    rc, out, err = u.run("supervisor", "metrics", "--recompute", "--day", day)
    c.equal(rc, 0, "recompute exits 0 when the counters agree (stderr: %s)" % err.strip())
    got = re.search(r"^checked (\d+) orders and (\d+) live counters$", out, re.M)
    c.check(out.startswith("agree: ") and got and int(got.group(1)) >= 5 and
            int(got.group(2)) >= 10, "recompute says they agree and how much it checked: %r" % out)
    key = "urban-management|closed"
    live = int(s.redis("HGET", "{bx}:m:%d" % dayno, key) or 0)
    s.redis("HINCRBY", "{bx}:m:%d" % dayno, key, "1")
    rc, out, err = u.run("supervisor", "metrics", "--recompute", "--day", day)
    c.equal(rc, 1, "recompute exits 1 when a counter differs")
    c.check(out.startswith("differ: 1 counter does not match"), "it says so: %r" % out[:60])
    c.equal(line_of(out, day + " ").split(), [day, "urban-management", "closed", str(live + 1),
                                             str(live)], "and lists the difference")
    rc, out, err = u.run("supervisor", "metrics", "--recompute", "--day", day, json_out=True)
    c.check(rc == 1 and json.loads(out)["agree"] is False, "--json too exits 1")
    s.redis("HINCRBY", "{bx}:m:%d" % dayno, key, "-1")
    rc, out, err = u.run("supervisor", "metrics", "--recompute")
    c.check(rc == 0 and out.startswith("agree: "), "this month's counters agree again")

    # -- the orders behind a number --------------------------------------------------------------
    rc, out, err = u.run("supervisor", "metrics", "--orders", "--unit", "urban-management",
                         "--metric", "claims_accepted", "--day", day)
    c.equal((rc, out), (0, fair + "\n"), "--orders lists the order behind claims_accepted")
    rc, out, err = u.run("supervisor", "metrics", "--orders", "--unit", "*", "--metric",
                         "received", "--day", day)
    c.check(rc == 0 and fair in out.split() and
            len(out.split()) == api["tier"]["counts"]["received"],
            "--orders --unit '*': the tier's orders received today: %r" % out)
    rc, out, err = u.run("supervisor", "metrics", "--orders", "--unit", "urban-management",
                         "--metric", "reopened", "--day", day)
    c.check(rc == 0 and fair in out.split() and len(out.split()) == cnt["reopened"],
            "--orders: one id a line, as many as the count: %r" % out)
    rc, out, err = u.run("supervisor", "metrics", "--orders", "--unit", "town-liuhe",
                         "--metric", "closed", "--day", day)
    c.check(rc == 0 and out == "" and "no orders" in err, "--orders with none says so")

    # -- the monthly circular as CSV -------------------------------------------------------------
    month = day[:7]
    st, api, _ = s.api("GET", "/v1/metrics?period=" + month, token="supervisor")
    rc, out, err = u.run("supervisor", "report", "--period", month, "--format", "csv")
    c.equal(rc, 0, "report --format csv exits 0 (stderr: %s)" % err.strip())
    rows = list(csv.DictReader(io.StringIO(out)))
    c.equal(len(rows), len(api["units"]), "one row per unit")
    row = next((r for r in rows if r["unit"] == "urban-management"), {})
    um = [x for x in api["units"] if x["unit"] == "urban-management"][0]
    ranked = [x["unit"] for x in api["ranking"]["satisfaction_rate"]]
    c.equal((row.get("name"), row.get("kind")), ("县城市管理综合行政执法局", "department"),
            "the unit's name and kind")
    c.equal({k: int(row.get(k, -1)) for k in um["counts"]}, um["counts"], "every count")
    c.equal({k: row.get(k) for k in um["rates"]},
            {k: "" if v is None else "%.2f" % v for k, v in um["rates"].items()}, "every rate")
    c.equal(row.get("rank"), str(ranked.index("urban-management") + 1)
            if "urban-management" in ranked else "", "its rank by satisfaction")
    c.equal(row.get("flags"), "; ".join(um["flags"]), "its flags")
    c.equal(out.splitlines()[0].split(",")[:4], ["rank", "unit", "name", "kind"], "the header")
    rc, out, err = u.run("supervisor", "report", "--period", month, "--format", "json")
    c.check(rc == 0 and json.loads(out)["units"] == api["units"], "--format json is the answer")
    rc, out, err = u.run("supervisor", "report", "--period", month)
    c.check(rc == 0 and any("urban-management" in ln and "县城市管理综合行政执法局" in ln
                            for ln in out.splitlines()),
            "the circular as a table names the unit")
    u.refused("supervisor", "report", "--format", "csv", want_rc=2,
              want=["report needs --period"])


def overdue_board(c):
    """A one-minute acknowledge clock seen by a watcher two minutes ahead: the order is on the
    board at once."""
    policy = {"normal": {"ack": "1m", "reply": "72h", "close": "5wd"}}
    with System(policy=policy, watcher_offset="2m") as s:
        u = Ctl(s, c)
        rc, out, err = u.run("supervisor", "overdue")
        c.equal((rc, out), (0, "0 stages overdue, 0 escalated\n"), "an empty board")
        late = u.create()
        wait_for(lambda: u.api(late)["deadlines"]["ack"]["state"] == "overdue", "ack overdue", 10)
        rc, out, err = u.run("supervisor", "overdue")
        c.equal(rc, 0, "overdue exits 0 (stderr: %s)" % err.strip())
        head = re.match(r"(\d+) stages? overdue, (\d+) escalated\n", out)
        c.check(head and int(head.group(1)) >= 1, "the board's totals: %r" % out[:60])
        c.check(re.search(r"^urban-management  \d+ overdue, \d+ escalated$", out, re.M),
                "the unit's line: %r" % out)
        words = line_of(out, "  " + late).split()
        c.check(words[:2] == [late, "ack"] and words[4] == "dispatched",
                "the order, its stage and status: %r" % words)
        rc, out, err = u.run("dispatcher", "overdue")
        c.check(rc == 0 and late in out, "dispatchers read the board too")
        u.refused("unit-urban", "overdue", want_rc=1, want=["403 forbidden"])
        day, _ = today()
        rc, out, err = u.run("supervisor", "metrics", "--day", day)
        words = line_of(out, "urban-management ").split()
        c.check(len(words) > 13 and int(words[13]) >= 1, "metrics counts the overdue stage: %r"
                % words)


def deadlines_offline(c):
    """Deadlines from the working calendar, without a server."""
    rc, out, err = offline("due", "--from", "2025-01-24T10:00", "--add", "5wd")
    c.equal((rc, out), (0, "2025-02-07T17:30:00+08:00\n"),
            "5 working days over the Spring Festival (stderr: %s)" % err.strip())
    for start, span, want in (("2025-03-07T18:00", "1wd", "2025-03-11T17:30:00+08:00"),
                              ("2025-03-10T10:00", "4wh", "2025-03-10T16:00:00+08:00"),
                              ("2025-03-10T10:00", "13wd+next", "2025-03-27T17:30:00+08:00"),
                              ("2025-01-24T10:00", "72h", "2025-01-27T10:00:00+08:00"),
                              ("2025-01-24T10:00", "3d", "2025-01-27T10:00:00+08:00")):
        rc, out, err = offline("due", "--from", start, "--add", span)
        c.equal((rc, out.strip()), (0, want), "due %s from %s" % (span, start))
    rc, out, err = offline("--json", "due", "--from", "2025-01-24T10:00", "--add", "5wd")
    c.equal(json.loads(out) if rc == 0 else None,
            {"from": "2025-01-24T10:00:00+08:00", "add": "5wd",
             "due": "2025-02-07T17:30:00+08:00", "due_ms": 1738920600000, "provisional": False},
            "due --json")
    rc, out, err = offline("due", "--from", "2027-03-01T09:00", "--add", "5wd")
    c.equal((rc, out), (0, "2027-03-08T17:30:00+08:00 provisional\n"),
            "a year without a calendar file is provisional")
    c.check("no calendar for 2027" in err, "and says which year: %r" % err)
    with tempfile.TemporaryDirectory() as empty:
        rc, out, err = offline("due", "--from", "2025-01-24T10:00", "--add", "5wd",
                               "--calendar", empty)
        c.check(rc == 1 and out == "" and "has no calendar" in err,
                "a folder without a calendar is an error: %r" % err)
        rc, out, err = offline("due", "--from", "2025-01-24T10:00", "--add", "5wd", cwd=empty)
        c.check(rc == 1 and "--calendar DIR or REXIAN_CALENDAR" in err,
                "without deploy/calendar here, it says where to point: %r" % err)
        rc, out, err = offline("due", "--from", "2025-01-24T10:00", "--add", "5wd", cwd=empty,
                               env={"REXIAN_CALENDAR": os.path.join(SOURCE, "deploy", "calendar")})
        c.equal((rc, out), (0, "2025-02-07T17:30:00+08:00\n"), "REXIAN_CALENDAR")
    rc, out, err = offline("due", "--from", "2025-01-24T10:00", "--add", "5 days")
    c.check(rc == 2 and "is not a span" in err and "13wd+next" in err,
            "a bad span is a usage error: %r" % err)
    rc, out, err = offline("due", "--from", "tomorrow", "--add", "5wd")
    c.check(rc == 2 and "--from 'tomorrow' must be a time" in err, "a bad time: %r" % err)


def main():
    c = Checks()
    if not os.access(CTL, os.X_OK):
        print("no rexianctl at", CTL)
        return 1
    with System() as s:
        u = Ctl(s, c)

        # -- the street lamp: recorded, dispatched, seen by its unit ------------------------------
        tid = u.create(address=LAMP_ADDRESS)
        rc, out, err = u.run("unit-urban", "list")
        c.equal(rc, 0, "the unit lists its orders")
        row = line_of(out, tid)
        c.check("dispatched" in row and "urban-management" in row and "138****0001" in row,
                "the order is on the unit's list, phone masked: %r" % row)
        rc, out, err = u.run("unit-chengguan", "list")
        c.check(rc == 0 and tid not in out, "another unit's list does not show it")
        rc, out, err = u.run("unit-urban", "show", tid)
        c.equal(rc, 0, "the unit shows the order")
        c.equal(out.splitlines()[0] if out else "", tid + "  dispatched", "show's first line")
        c.check(line_of(out, "  unit ").endswith("urban-management"), "show names the unit")
        c.equal(line_of(out, "  caller"), "  caller      138****0001",
                "the unit sees a masked phone")
        c.equal(section(out, "Text"), ["  " + LAMP_TEXT], "the caller's words")
        c.check(line_of(out, "  return by").startswith("  return by   20"),
                "show says until when the order can be returned: %r" % line_of(out, "  return by"))
        c.equal(section(out, "Reply"), [], "no reply section before a reply")

        # -- the wrong unit, the wrong moment, the wrong command line -----------------------------
        u.refused("unit-chengguan", "ack", tid, want_rc=1,
                  want=["404 not_found", "no ticket " + tid])
        c.equal(u.api(tid)["status"], "dispatched", "another unit's ack changed nothing")
        rev = u.api(tid)["rev"]
        u.refused("unit-urban", "reply", tid, "--text", "修好了", want_rc=1,
                        want=["409 illegal_step", "is dispatched", "Allowed now: ack"])
        u.refused("unit-urban", "return", tid, "--reason", "other", want_rc=2,
                  want=["return needs --note", "see 'rexianctl return --help'"])
        u.refused("unit-urban", "reply", tid, want_rc=2, want=["reply needs --text"])
        u.refused("callback", "rate", tid, "--rating", "meh", want_rc=2,
                  want=["--rating 'meh' must be one of: satisfied, basically_satisfied"])
        u.refused("unit-urban", "ack", tid, "--note", "x", want_rc=2,
                  want=["ack has no option '--note'"])
        t = u.api(tid)
        c.equal((t["status"], t["rev"]), ("dispatched", rev), "refusals and usage errors change "
                "nothing")
        u.refused("operator", "ack", tid, want_rc=1, want=["403 forbidden", "operator"])

        # -- acknowledge, reply with evidence -----------------------------------------------------
        u.step("unit-urban", "ack", tid, want_status="acknowledged")
        u.refused("unit-urban", "ack", tid, want_rc=1, want=["409 illegal_step", "already"])
        u.step("unit-urban", "reply", tid, "--text", "已更换路灯灯头，恢复照明。",
               "--evidence", "photo.jpg,sha256:ab12,https://files.example/get?a=1,b=2",
               "--evidence", "report.pdf", want_status="replied")
        t = u.api(tid)
        c.equal(t.get("reply_evidence"),
                [{"name": "photo.jpg", "hash": "sha256:ab12",
                  "url": "https://files.example/get?a=1,b=2"}, {"name": "report.pdf"}],
                "evidence references kept as given (the URL keeps its commas)")
        rc, out, err = u.run("unit-urban", "show", tid)
        c.equal(section(out, "Reply")[:3] if section(out, "Reply") else None,
                ["  已更换路灯灯头，恢复照明。",
                 "  evidence    photo.jpg (sha256:ab12, https://files.example/get?a=1,b=2)",
                 "              report.pdf"], "show prints the reply and its evidence")
        c.check(any(ln.startswith("Reply (20") for ln in out.splitlines()),
                "the reply's time is shown")

        # -- unsatisfied: reopened to the same unit; then done right ------------------------------
        u.refused("unit-urban", "rate", tid, "--rating", "satisfied", want_rc=1,
                  want=["403 forbidden"])
        u.step("callback", "rate", tid, "--rating", "unsatisfied", "--words",
               "只修了一个，还有两个不亮", want_status="dispatched")
        t = u.api(tid)
        c.equal((t["reopened"], t["unit"]), (1, "urban-management"), "reopened to the same unit")
        u.step("unit-urban", "ack", tid, want_status="acknowledged")
        u.step("unit-urban", "reply", tid, "--text", "-", stdin="三个路灯均已修复。\n",
               want_status="replied")
        c.equal(u.api(tid)["reply_text"], "三个路灯均已修复。", "--text - reads the reply from stdin")
        u.step("callback", "rate", tid, "--rating", "satisfied", "--words", "都亮了",
               want_status="closed")
        rc, out, err = u.run("operator", "show", tid)
        c.equal(rc, 0, "show the closed order")
        lines = out.splitlines()
        c.equal(lines[0] if lines else "", tid + "  closed", "show: closed")
        c.equal(line_of(out, "  reopened"), "  reopened    1 time", "show: reopened once")
        c.equal(line_of(out, "  revision"), "  revision    %d" % u.api(tid)["rev"],
                "show: the revision to pass as --rev")
        c.equal(line_of(out, "  caller"), "  caller      13800000001",
                "the operator sees the phone")
        c.equal(section(out, "Reply")[:1], ["  三个路灯均已修复。"], "show: the latest reply")
        handling = section(out, "Handling")
        c.check(any(ln.startswith("  rating      satisfied: 都亮了 (20") for ln in handling),
                "show: the rating and the citizen's words: %r" % handling)
        c.check(any(ln.startswith("  resolution  closed") for ln in handling),
                "show: how it ended")
        c.check(any(ln.startswith("  closed      20") for ln in handling), "show: when it closed")
        c.check(not any(ln.startswith("  return by") for ln in handling),
                "no return window on a closed order")
        timeline = section(out, "Timeline")
        c.check(timeline and timeline[0].split() == ["TIME", "ACTOR", "WHAT", "NOTES"],
                "show: the timeline's header")
        for w in ("received", "dispatched", "ack", "reply", "rate", "reopened"):
            c.check(any(w in ln.split() for ln in timeline[1:]), "the timeline shows %s" % w)
        c.check(any("evidence=photo.jpg (sha256:ab12" in ln for ln in timeline),
                "the timeline keeps the first reply's evidence: %r" % timeline)
        c.check(any("rating=unsatisfied" in ln and "只修了一个" in ln for ln in timeline),
                "the timeline keeps the unsatisfied rating and its words")
        c.check(any("t-callback (callback)" in ln and " rate " in ln for ln in timeline),
                "the timeline names who rated")
        u.refused("unit-urban", "ack", tid, want_rc=1, want=["409 illegal_step", "is closed"])

        # -- return, review, redispatch -----------------------------------------------------------
        tid = u.create()
        u.step("unit-urban", "return", tid, "--reason", "not_our_responsibility", "--note",
               "路灯归城关镇管", want_status="returned")
        rc, out, err = u.run("dispatcher", "list", "--status", "returned")
        c.check(rc == 0 and line_of(out, tid) != "", "the return is in the dispatchers' queue")
        u.refused("dispatcher", "review-return", tid, "--decision", "redispatch", "--unit",
                  "urban-management", "--reason", "again", want_rc=1,
                  want=["409 same_unit", "urban-management returned order " + tid])
        u.refused("dispatcher", "review-return", tid, "--decision", "redispatch", "--reason",
                  "x", want_rc=2, want=["--decision redispatch needs --unit"])
        u.step("dispatcher", "review-return", tid, "--decision", "redispatch", "--unit",
               "town-chengguan", "--reason", "城关镇负责镇区路灯", want_status="dispatched")
        c.equal(u.api(tid)["unit"], "town-chengguan", "redispatched to the township")
        u.refused("unit-urban", "show", tid, want_rc=1, want=["404 not_found"])
        rc, out, err = u.run("unit-chengguan", "show", tid)
        c.equal(line_of(out, "  returned"),
                "  returned    by urban-management: not_our_responsibility (路灯归城关镇管)",
                "the new unit sees who returned it and why")
        u.step("unit-chengguan", "ack", tid, want_status="acknowledged")

        # -- an extension: asked by the unit, approved by a supervisor ----------------------------
        ext = u.create()
        u.step("unit-urban", "ack", ext, want_status="acknowledged")
        due = u.api(ext)["deadlines"]["close"]["due_ms"]
        later = beijing(due, 5)
        u.refused("unit-urban", "extend", ext, "--until", later, want_rc=2,
                  want=["extend needs --reason"])
        u.refused("unit-urban", "extend", ext, "--until", "next week", "--reason", "x", want_rc=1,
                  want=["400 invalid_value (until)", "2026-12-01T17:30"])
        rc, out, err = u.run("unit-urban", "extend", ext, "--until", later, "--reason",
                             "需要采购灯具", json_out=True)
        doc = json.loads(out) if rc == 0 and out.strip() else {}
        c.equal((rc, doc.get("id"), doc.get("status")), (0, ext, "acknowledged"),
                "--json prints the server's answer")
        u.refused("unit-urban", "decide-extension", ext, "--decision", "approve", "--reason", "ok",
                  want_rc=1, want=["403 forbidden"])
        rev = u.api(ext)["rev"]
        u.refused("supervisor", "decide-extension", ext, "--decision", "approve", "--reason", "ok",
                  "--rev", str(rev - 1), want_rc=1, want=["409 conflict", "revision %d" % rev])
        c.equal(u.api(ext)["extension_state"], "requested", "a stale --rev changed nothing")
        u.step("supervisor", "decide-extension", ext, "--decision", "approve", "--reason", "同意",
               "--rev", str(rev), want_status="acknowledged")
        t = u.api(ext)
        c.check(t["deadlines"]["close"]["due_ms"] > due,
                "the approved extension moved the deadline")
        c.equal(t["extension_state"], "approved", "extension approved")
        rc, out, err = u.run("unit-urban", "show", ext)
        c.equal(line_of(out, "  extension"),
                "  extension   approved, until %s:00: 需要采购灯具" % later.replace("T", " "),
                "show: the extension, its new deadline and why")

        # -- manual dispatch with a co-handler, a sub-dispatch ------------------------------------
        vague = u.create(VAGUE_TEXT, "13800000009", "pending_dispatch")
        rc, out, err = u.run("dispatcher", "show", vague)
        c.check("none yet: waiting in the manual dispatch queue" in out,
                "show: waiting for a person")
        u.step("dispatcher", "dispatch", vague, "--unit", "urban-management", "--co-unit",
               "town-chengguan", "--urgency", "urgent", "--note", "请协同处理",
               want_status="dispatched")
        t = u.api(vague)
        c.equal((t["co_units"], t["urgency"]), (["town-chengguan"], "urgent"),
                "dispatched with its co-handler and urgency")
        u.step("unit-chengguan", "ack", vague, want_status="dispatched")
        u.step("unit-urban", "ack", vague, want_status="acknowledged")
        u.step("unit-urban", "subdispatch", vague, "--unit", "town-jiazhen", "--due", later,
               "--note", "请镇里核实", want_status="acknowledged")
        rc, out, err = u.run("unit-urban", "show", vague)
        handling = section(out, "Handling")
        c.check(any(ln.startswith("  co-acked    town-chengguan  20") for ln in handling),
                "show: the co-handler's acknowledgement: %r" % handling)
        c.check("  sub         town-jiazhen, due %s:00, from urban-management: 请镇里核实"
                % later.replace("T", " ") in handling, "show: the sub-dispatch: %r" % handling)
        c.check(line_of(out, "  unit ").endswith("urban-management (co-handlers: town-chengguan)"),
                "show: lead and co-handler")

        # -- merge, reject, resolve, close --------------------------------------------------------
        dup = u.create()
        u.refused("dispatcher", "merge", dup, "--into", dup, want_rc=1, want=["409 same_order"])
        u.step("dispatcher", "merge", dup, "--into", ext, "--note", "同一路灯",
               want_status="merged")
        rc, out, err = u.run("dispatcher", "merge", dup, "--into", ext)
        c.check(rc == 1 and "409" in err, "a merged order cannot merge again: %r" % err)
        c.check(dup in u.api(ext)["merged"], "the original lists the repeat")
        rc, out, err = u.run("supervisor", "show", ext)
        c.equal(line_of(out, "  merged here"), "  merged here " + dup, "show: merged here")
        rc, out, err = u.run("supervisor", "show", dup)
        c.equal(line_of(out, "  merged into"), "  merged into " + ext, "show: merged into")
        dup2 = u.create(phone="13800000002")
        m = u.step("operator", "merge", dup2, "--into", tid, want_status="merged")
        c.check(m is not None and m.group(3) == tid,
                "the merge line names the order it joined: %r" % (m and m.group(0)))

        vague = u.create(VAGUE_TEXT, "13800000009", "pending_dispatch")
        u.refused("operator", "reject", vague, "--reason", "because", want_rc=1,
                  want=["400 invalid_value (reason)", "insufficient_information"])
        u.step("operator", "reject", vague, "--reason", "insufficient_information", "--note",
               "无具体内容", want_status="rejected")
        c.equal(u.api(vague)["reject_reason"], "insufficient_information", "reject reason kept")
        rc, out, err = u.run("operator", "show", vague)
        c.equal(line_of(out, "  rejected"), "  rejected    insufficient_information",
                "show: why it was rejected")

        vague = u.create(VAGUE_TEXT, "13800000009", "pending_dispatch")
        u.step("operator", "resolve", vague, "--answer", "已按知识库答复：社保卡补办请到人社局窗口",
               want_status="closed")
        c.equal(u.api(vague)["resolution"], "first_contact", "resolved at first contact")
        rc, out, err = u.run("operator", "show", vague)
        c.equal(line_of(out, "  resolution"), "  resolution  first_contact", "show: resolution")
        c.equal(line_of(out, "  answer"), "  answer      已按知识库答复：社保卡补办请到人社局窗口",
                "show: the answer given")

        u.step("supervisor", "close", tid, "--reason", "来电人撤回诉求", want_status="closed")
        rc, out, err = u.run("supervisor", "show", tid)
        c.check(line_of(out, "  closed").endswith(": 来电人撤回诉求"), "show: why it was closed")

        fairness(s, u, c)

        # -- help ---------------------------------------------------------------------------------
        rc, out, err = u.run("operator", "help", "rate")
        c.check(rc == 0 and "--rating" in out and "basically_satisfied" in out and "--rev" in out,
                "help lists a step's options and values")
        rc, out, err = u.run("operator", "--help")
        c.check(rc == 0 and all(st in out for st in ("review-return", "decide-extension",
                                                     "subdispatch", "merge")),
                "the overview lists the steps")
        c.check(all(cmd in out for cmd in ("metrics", "report", "claims", "overdue", "due",
                                           "pause", "resume", "explain", "claim", "rule")),
                "the overview lists the scores, audit and fairness commands")
    overdue_board(c)
    deadlines_offline(c)
    return c.done()


if __name__ == "__main__":
    raise SystemExit(main())
