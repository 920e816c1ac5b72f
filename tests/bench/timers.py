"""timers.py -- scripts/bench's deadlines case: a bulk loader of open orders and the report.

    /usr/bin/python3 timers.py open --orders N --now MS --units FILE [--days 30] [--tier bx]
    /usr/bin/python3 timers.py burst --orders N --due-s S --units FILE [--tier bx]
    /usr/bin/python3 timers.py report DIR OUT.json

open and burst write Redis commands (RESP) on stdout for `redis-cli --pipe`: a million orders
through HTTP would measure intake, not the clocks. Each order is the minimal ticket hash the
store's clock functions read (id, tier, status, unit, rev, created_at and per running stage
_due, _state, _warn, _esc, _start, _light, _escalated) plus its members in {T}:clk, exactly as
clocks_set writes them ("ID|STAGE|warn", "|due", "|esc", scored by their time in ms).

open: acknowledged orders whose reply and close clocks are running, their due times spread
evenly from an hour after --now to --days later (warnings up to 4 h before, escalations a day
after): nothing falls due while the bench runs. burst: orders whose reply deadline falls due
within the one second starting at --due-s (epoch seconds), with no warning before it.

report reads what scripts/bench collected in DIR (meta.json, memory.json, cpu-idle.txt,
watcher.metrics, sink.tsv, burst.txt) and Redis itself (the burst orders' timelines and the
tier's event stream), prints a table and writes the figures as JSON to OUT.
"""
import json
import os
import random
import re
import sys
from benchlib import read_cpu_snaps, histogram, percentile, read_metrics, resp, summary

DAY_MS = 86400000
HOUR_MS = 3600000
MAX_ORDERS = 20000000  # per load
ORDERS_PER_ZADD = 100  # clock members go in one ZADD per this many orders
CHUNK = 5000  # orders per write to stdout
BURST_SEQ = 900001  # burst orders' sequence numbers start here (open orders stay below)


def usage(msg=None):
    if msg:
        print("timers.py: " + msg, file=sys.stderr)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def unit_codes(path):
    codes = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\[unit ([a-z0-9-]{1,63})\]", line.strip())
            if m:
                codes.append(m.group(1))
    if not codes:
        usage("no [unit CODE] sections in " + path)
    return codes


def stage_fields(stage, start, warn, due, esc):
    return [stage + "_due", str(due), stage + "_state", "running", stage + "_warn", str(warn),
            stage + "_esc", str(esc), stage + "_start", str(start), stage + "_light", "",
            stage + "_escalated", ""]


def emit(orders, tier):
    """orders: iterable of (id, unit, created, {stage: (start, warn, due, esc)}) -> RESP."""
    clk = "{%s}:clk" % tier
    out, zadd, n = [], ["ZADD", clk], 0
    for tid, unit, created, stages in orders:
        fields = ["HSET", "{%s}:t:%s" % (tier, tid), "id", tid, "tier", tier,
                  "status", "acknowledged", "unit", unit, "rev", "3", "created_at", str(created)]
        for stage, (start, warn, due, esc) in stages.items():
            fields += stage_fields(stage, start, warn, due, esc)
            if warn < due:  # as clocks_set: no warning member when there is no time before it
                zadd += [str(warn), "%s|%s|warn" % (tid, stage)]
            zadd += [str(due), "%s|%s|due" % (tid, stage), str(esc), "%s|%s|esc" % (tid, stage)]
        out.append(resp(fields))
        n += 1
        if n % ORDERS_PER_ZADD == 0:
            out.append(resp(zadd))
            zadd = ["ZADD", clk]
        if n % CHUNK == 0:
            sys.stdout.buffer.write(b"".join(out))
            out = []
    if len(zadd) > 2:
        out.append(resp(zadd))
    sys.stdout.buffer.write(b"".join(out))
    sys.stdout.buffer.flush()


def day_text(ms):
    import time
    return time.strftime("%Y%m%d", time.gmtime((ms + 8 * HOUR_MS) // 1000))


def open_orders(n, now, days, units, seed=12345):
    rng = random.Random(seed)
    span = days * DAY_MS - HOUR_MS
    per_day = -(-n // 30)  # ids spread over 30 creation days, like BX-YYYYMMDD-NNNNNN
    if per_day >= BURST_SEQ:
        usage("--orders: at most %d" % (30 * (BURST_SEQ - 1)))
    for i in range(n):
        created = now - (i % 30) * DAY_MS - rng.randrange(DAY_MS)
        tid = "BX-%s-%06d" % (day_text(now - (i % 30) * DAY_MS), i // 30 + 1)
        a, b = sorted((rng.random(), rng.random()))
        stages = {}
        for stage, u in (("reply", a), ("close", b)):
            due = now + HOUR_MS + int(u * span)
            warn = due - min(4 * HOUR_MS, (due - now) // 2)
            stages[stage] = (created + 600000, warn, due, due + DAY_MS)
        yield tid, units[i % len(units)], created, stages


def burst_orders(n, due_s, units, seed=54321):
    rng = random.Random(seed)
    for i in range(n):
        due = due_s * 1000 + rng.randrange(1000)
        tid = "BX-%s-%06d" % (day_text(due), BURST_SEQ + i)
        start = due - 2 * DAY_MS
        yield tid, units[i % len(units)], start - 600000, {"reply": (start, due, due, due + DAY_MS)}


# ---------------------------------------------------------------------------------------------
# report


def commandstats(path, field="calls"):
    """INFO commandstats -> {command: calls (or usec)}."""
    out = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"cmdstat_([^:]+):(.*)", line.strip())
            if m:
                kv = dict(p.split("=", 1) for p in m.group(2).split(","))
                out[m.group(1)] = int(kv[field])
    return out


def cpu_window(path):
    """cpu-idle.txt: 'ticks N', then 'start|end wall NS' and 'start|end PROC UTIME STIME'."""
    snaps, ticks = read_cpu_snaps(path)
    wall = (snaps["end"]["wall"] - snaps["start"]["wall"]) / 1e9
    out = {"wall_s": round(wall, 1)}
    for proc in snaps["start"]:
        if proc == "wall":
            continue
        secs = (snaps["end"].get(proc, 0) - snaps["start"][proc]) / ticks
        out[proc] = {"cpu_s": round(secs, 3), "core_pct": round(100 * secs / wall, 2)}
    return out


def report(d, out_path):
    import redis  # Debian's python3-redis, which scripts/bench installs

    meta = json.load(open(os.path.join(d, "meta.json")))
    mem = json.load(open(os.path.join(d, "memory.json")))
    tier = meta["tier"]
    n_open, n_burst, due_s = meta["orders"], meta["burst"], meta["burst_due_s"]
    r = redis.Redis(host="127.0.0.1", port=meta["redis_port"], decode_responses=True)

    # -- memory ---------------------------------------------------------------------------
    delta = mem["used_memory_after"] - mem["used_memory_before"]
    members = mem["clock_members"]
    memory = {
        "open_orders": n_open, "clock_members": members,
        "used_memory_delta_bytes": delta,
        "bytes_per_clock_member": round(delta / members, 1) if members else None,
        "bytes_per_open_order": round(delta / n_open, 1) if n_open else None,
        "clk_zset_bytes_per_member": round(mem["clk_zset_bytes"] / members, 1) if members else None,
        "ticket_hash_bytes": mem["ticket_hash_bytes"],
        "load_s": mem["load_s"], "load_orders_per_s": round(n_open / mem["load_s"])
        if mem["load_s"] > 0 else None,
        "note": "minimal ticket hashes (the fields the clock functions read) plus their clock "
                "members; a real order also has its text, phone, timeline and indexes",
    }

    # -- idle -----------------------------------------------------------------------------
    idle = cpu_window(os.path.join(d, "cpu-idle.txt"))
    before = commandstats(os.path.join(d, "idle-redis-before.txt"))
    after = commandstats(os.path.join(d, "idle-redis-after.txt"))
    idle["redis_calls_per_s"] = {
        k: round((v - before.get(k, 0)) / idle["wall_s"], 2) for k, v in after.items()
        if k != "info" and v > before.get(k, 0)}

    # -- the burst ------------------------------------------------------------------------
    ids = []
    with open(os.path.join(d, "burst.txt")) as f:
        ids = [line.strip() for line in f if line.strip()]
    burst = set(ids)
    due_of, stamp_of, tl_lag = {}, {}, []
    for i in range(0, len(ids), 2000):
        chunk = ids[i:i + 2000]
        pipe = r.pipeline(transaction=False)
        for tid in chunk:
            pipe.lrange("{%s}:t:%s:tl" % (tier, tid), 0, -1)
        for tid, entries in zip(chunk, pipe.execute()):
            for e in map(json.loads, entries):
                if e.get("what") == "deadline.due":
                    due_of[tid] = e["due"]
                    stamp_of[tid] = e["at"]
                    tl_lag.append(e["at"] - e["due"])
    # the event stream's ids are Redis's clock when each clock_fire ran: the real firing time
    fired_lag, fired_at, after_stamp, last_id = [], [], [], "-"
    by_tick = {}  # the watcher's stamp -> Redis times of the firings it stamped
    while True:
        batch = r.xrange("{%s}:events" % tier, min=last_id, max="+", count=10000)
        if last_id != "-":
            batch = batch[1:]
        if not batch:
            break
        for eid, f in batch:
            if f.get("type") == "deadline.due" and f.get("ticket") in burst:
                ms = int(eid.split("-")[0])
                fired_at.append(ms)
                fired_lag.append(ms - json.loads(f["data"])["due"])
                if f["ticket"] in stamp_of:
                    after_stamp.append(ms - stamp_of[f["ticket"]])
                    by_tick.setdefault(stamp_of[f["ticket"]], []).append(ms)
        last_id = batch[-1][0]
    delivered_lag, delivered_at, dups, deliveries = [], [], 0, 0
    for line in open(os.path.join(d, "sink.tsv"), encoding="utf-8"):
        if line.startswith("#"):
            continue
        tid, kind, _, recv_ns, dup, _ = line.rstrip("\n").split("\t")
        if kind != "deadline.due" or tid not in burst:
            continue
        deliveries += 1
        if dup == "1":
            dups += 1
            continue
        if tid in due_of:
            delivered_lag.append(int(recv_ns) / 1e6 - due_of[tid])
        delivered_at.append(int(recv_ns) / 1e6)
    m = read_metrics(os.path.join(d, "watcher.metrics"))
    t0 = due_s * 1000
    ticks = []
    for stamp in sorted(by_tick):
        v = by_tick[stamp]
        span = max(v) - min(v)
        ticks.append({"stamp_ms_after_due_second": stamp - t0, "fired": len(v),
                      "first_ms_after_stamp": min(v) - stamp, "last_ms_after_stamp": max(v) - stamp,
                      "fired_per_s": round(len(v) * 1000 / span) if span > 0 else None})
    c0 = commandstats(os.path.join(d, "burst-redis-before.txt"))
    c1 = commandstats(os.path.join(d, "burst-redis-after.txt"))
    u0 = commandstats(os.path.join(d, "burst-redis-before.txt"), "usec")
    u1 = commandstats(os.path.join(d, "burst-redis-after.txt"), "usec")
    n_fired = len(fired_at) or 1
    lag = {
        "burst_orders": n_burst,
        "due_second": due_s,
        "fired_total_metric": int(m.get("rexian_clocks_fired_total", 0)),
        "watcher_histogram_ms": histogram(m, "rexian_clock_lag_ms"),
        "timeline_at_minus_due_ms": summary(tl_lag),
        "fired_in_redis_minus_due_ms": summary(fired_lag),
        "fired_in_redis_minus_watcher_stamp_ms": summary(after_stamp),
        "ticks": ticks,
        "redis_fcalls_per_fired_clock": round((c1.get("fcall", 0) - c0.get("fcall", 0)) / n_fired,
                                              2),
        "redis_fcall_usec_per_fired_clock": round(
            (u1.get("fcall", 0) - u0.get("fcall", 0)) / n_fired, 1),
        "delivered_minus_due_ms": summary(delivered_lag),
        "firing_span_ms": (max(fired_at) - min(fired_at)) if fired_at else None,
        "all_delivered_s_after_due_second": round((max(delivered_at) - t0) / 1000, 3)
        if len(delivered_at) >= n_burst else None,
        "delivered": len(delivered_at),
        "duplicates": dups,
        "deliveries": deliveries,
        "watcher_interval_ms": meta.get("interval_ms"),
    }
    if os.path.exists(os.path.join(d, "cpu-burst.txt")):
        lag["cpu"] = cpu_window(os.path.join(d, "cpu-burst.txt"))
    result = {"memory": memory, "idle": idle, "burst": lag}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    # -- the table --------------------------------------------------------------------------
    def fmt(s):
        return "%s / %s / %s  (n=%d)" % (s["p50"], s["p99"], s["max"], s["count"])

    h = lag["watcher_histogram_ms"] or {}
    rows = [
        ("open orders, clock members", "%d, %d  (loaded in %.1f s, %s orders/s)" % (
            n_open, members, mem["load_s"], memory["load_orders_per_s"])),
        ("Redis memory / clock member", "%s bytes  (used_memory delta / members)" %
         memory["bytes_per_clock_member"]),
        ("Redis memory / open order", "%s bytes  (hash %s + clock members)" % (
            memory["bytes_per_open_order"], mem["ticket_hash_bytes"])),
        ("{%s}:clk alone / member" % tier, "%s bytes  (MEMORY USAGE)" %
         memory["clk_zset_bytes_per_member"]),
        ("idle CPU %% of a core (%.0f s)" % idle["wall_s"], ", ".join(
            "%s %s" % (p, v["core_pct"]) for p, v in idle.items()
            if isinstance(v, dict) and "core_pct" in v)),
        ("idle Redis calls / s", ", ".join("%s %s" % kv for kv in
                                           sorted(idle["redis_calls_per_s"].items())) or "-"),
        ("burst", "%d clocks due within second %d, watcher interval %s ms" % (
            n_burst, due_s, meta.get("interval_ms"))),
        ("lag ms, watcher histogram", "mean %s, p50 <= %s, p99 <= %s, max <= %s  (n=%s)" % (
            h.get("mean"), h.get("p50_le"), h.get("p99_le"), h.get("max_le"), h.get("count"))),
        ("lag ms, timeline at - due", fmt(lag["timeline_at_minus_due_ms"])),
        ("lag ms, fired in Redis - due", fmt(lag["fired_in_redis_minus_due_ms"]) +
         "  (firings spread over %s ms)" % lag["firing_span_ms"]),
        ("fired in Redis - watcher stamp", fmt(lag["fired_in_redis_minus_watcher_stamp_ms"]) +
         "  (the stamp is the tick's start)"),
        ("ticks that fired the burst", "; ".join(
            "+%d ms: %d fired over %d..%d ms after it (%s/s)" % (
                t["stamp_ms_after_due_second"], t["fired"], t["first_ms_after_stamp"],
                t["last_ms_after_stamp"], t["fired_per_s"]) for t in ticks)),
        ("lag ms, webhook received - due", fmt(lag["delivered_minus_due_ms"])),
        ("all notifications delivered", "%s s after the due second began; %d delivered, "
         "%d duplicates" % (lag["all_delivered_s_after_due_second"], len(delivered_at), dups)),
    ]
    rows.append(("Redis FCALLs / fired clock", "%s, %s us  (the watcher's and the notifier's)" % (
        lag["redis_fcalls_per_fired_clock"], lag["redis_fcall_usec_per_fired_clock"])))
    if "cpu" in lag:
        c = lag["cpu"]
        rows.append(("CPU s, burst (%.1f s)" % c["wall_s"], ", ".join(
            "%s %.2f" % (p, v["cpu_s"]) for p, v in c.items() if isinstance(v, dict))))
    width = max(len(k) for k, _ in rows)
    print("-- timers")
    for k, v in rows:
        print("%-*s  %s" % (width, k, v))
    return 0 if len(delivered_at) >= n_burst else 1


def main():
    argv = sys.argv[1:]
    if not argv:
        usage()
    if argv[0] == "report":
        if len(argv) != 3:
            usage()
        return report(argv[1], argv[2])
    opts = {"--days": "30", "--tier": "bx"}
    for i in range(1, len(argv), 2):
        if i + 1 >= len(argv) or argv[i] not in ("--orders", "--now", "--units", "--days",
                                                   "--tier", "--due-s", "--ids"):
            usage("unknown option or no value: " + argv[i])
        opts[argv[i]] = argv[i + 1]
    try:
        n = int(opts.get("--orders", ""))
        days = int(opts["--days"])
    except ValueError:
        usage("--orders and --days take whole numbers")
    if not 1 <= n <= MAX_ORDERS or not 1 <= days <= 366:
        usage("--orders must be 1 to %d, --days 1 to 366" % MAX_ORDERS)
    if not re.fullmatch(r"[a-z0-9]{1,16}", opts["--tier"]):
        usage("--tier: 1 to 16 of a-z, 0-9")
    if "--units" not in opts:
        usage("--units FILE is required")
    units = unit_codes(opts["--units"])
    if argv[0] == "open":
        try:
            now = int(opts.get("--now", ""))
        except ValueError:
            usage("--now takes epoch milliseconds")
        emit(open_orders(n, now, days, units), opts["--tier"])
    elif argv[0] == "burst":
        if n >= 1000000 - BURST_SEQ + 1:
            usage("burst --orders: at most %d" % (1000000 - BURST_SEQ))
        try:
            due_s = int(opts.get("--due-s", ""))
        except ValueError:
            usage("--due-s takes epoch seconds")
        orders = list(burst_orders(n, due_s, units))
        if "--ids" in opts:
            with open(opts["--ids"], "w") as f:
                f.write("".join(o[0] + "\n" for o in orders))
        emit(orders, opts["--tier"])
    else:
        usage("the first argument is open, burst or report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
