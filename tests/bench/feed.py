"""feed.py -- scripts/bench's feed case: a county's event backlog for the city, and the report.

    /usr/bin/python3 feed.py backlog --events N --now MS [--tier bx]
    /usr/bin/python3 feed.py report DIR OUT.json

backlog writes Redis commands (RESP) on stdout for `redis-cli --pipe`: N events in the county's
stream {T}:events, five per order (received, dispatched, acknowledged, replied, closed), with
the fields the store's event() writes (ticket, type, rev, at, data as JSON), and each order's
hash {T}:t:ID with the fields the feed's snapshot reads (a closed order: status, rev, unit,
deadlines and states, text, reply). Orders go in blocks of 1000, each block's events stage by
stage, so one order's events are spread over the stream as they would be. N must be a multiple
of five; the stream's ids are Redis's own ('*'), in the order written.

report reads what scripts/bench collected in DIR (meta.json, progress.txt: "MS STORED" lines
polled from the city) and prints a table: catch-up events/s from the first event stored to
the last, from the city's start and at the slowest second; the city's used_memory per
mirrored order and per stored event. It writes the figures as JSON to OUT.
"""
import json
import os
import sys
from benchlib import resp

MAX_EVENTS = 20000000
BLOCK = 1000  # orders whose events are interleaved stage by stage
STEPS = [  # type, data, status after it
    ("received", {"channel": "phone"}, "received"),
    ("dispatched", {"unit": "urban-management"}, "dispatched"),
    ("acknowledged", {"stage": "ack"}, "acknowledged"),
    ("replied", {"stage": "reply"}, "replied"),
    ("closed", {"resolution": "resolved"}, "closed"),
]
TEXT = "来电人反映：城关镇人民路路灯坏了一个月了，晚上出行很不方便，希望尽快修复。"
REPLY = "已安排维修人员更换路灯，现已恢复照明。"


def usage(msg=None):
    if msg:
        print("feed.py: " + msg, file=sys.stderr)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def order_hash(tier, tid, created):
    at = [created + i * 3600000 for i in range(5)]
    return ["HSET", "{%s}:t:%s" % (tier, tid), "id", tid, "tier", tier, "status", "closed",
            "rev", "5", "unit", "urban-management", "urgency", "normal",
            "category", "street-lamp", "channel", "phone", "address", "城关镇人民路",
            "township", "town-chengguan", "created_at", str(at[0]), "updated_at", str(at[4]),
            "dispatched_at", str(at[1]), "closed_at", str(at[4]),
            "ack_due", str(at[0] + 7200000), "ack_state", "met",
            "reply_due", str(at[0] + 86400000 * 3), "reply_state", "met",
            "close_due", str(at[0] + 86400000 * 5), "close_state", "met",
            "text", TEXT, "reply_text", REPLY, "resolution", "resolved", "rating", "satisfied"]


def backlog(args):
    opts = {"--events": None, "--now": None, "--tier": "bx"}
    it = iter(args)
    for a in it:
        if a not in opts:
            usage("unknown option " + a)
        opts[a] = next(it, None)
    try:
        n, now = int(opts["--events"]), int(opts["--now"])
    except (TypeError, ValueError):
        usage("--events and --now are numbers")
    if n < 5 or n > MAX_EVENTS or n % 5:
        usage("--events must be a multiple of 5 from 5 to %d" % MAX_EVENTS)
    tier = opts["--tier"]
    orders = n // 5
    out = sys.stdout.buffer
    start = now - orders * 1000  # one order a second, the last just before now
    for b in range(0, orders, BLOCK):
        chunk = []
        ids = ["%s-20250101-%07d" % (tier.upper(), k + 1) for k in range(b, min(orders, b + BLOCK))]
        for k, tid in enumerate(ids):
            chunk.append(resp(order_hash(tier, tid, start + (b + k) * 1000)))
        for rev, (etype, data, _) in enumerate(STEPS, 1):
            dj = json.dumps(data, separators=(",", ":"))
            for k, tid in enumerate(ids):
                at = start + (b + k) * 1000 + (rev - 1) * 3600000
                chunk.append(resp(["XADD", "{%s}:events" % tier, "*", "ticket", tid, "type", etype,
                                   "rev", str(rev), "at", str(at), "data", dj]))
        out.write(b"".join(chunk))
    out.flush()


def report(args):
    if len(args) != 2:
        usage("report DIR OUT.json")
    d, out = args
    meta = json.load(open(os.path.join(d, "meta.json")))
    samples = []
    with open(os.path.join(d, "progress.txt")) as f:
        for line in f:
            p = line.split()
            if len(p) == 2 and p[1].isdigit():
                samples.append((int(p[0]), int(p[1])))
    n, orders = meta["events"], meta["orders"]
    first = next((s for s in samples if s[1] > 0), None)
    done = next((s for s in samples if s[1] >= n), None)
    last = samples[-1] if samples else (meta["city_start_ms"], 0)
    end = done or last
    r = {"events": n, "orders": orders, "caught_up": done is not None,
         "stored": end[1], "load_s": meta["load_s"]}
    if first:
        span = max(1, end[0] - first[0]) / 1000.0
        r["first_stored_after_s"] = round((first[0] - meta["city_start_ms"]) / 1000.0, 2)
        r["catch_up_s"] = round((end[0] - meta["city_start_ms"]) / 1000.0, 2)
        r["events_per_s"] = round((end[1] - first[1]) / span)
        r["events_per_s_from_start"] = round(end[1] / max(0.001, r["catch_up_s"]))
        # the slowest whole second between the first and the last sample
        slow = None
        j = 0
        for i, s in enumerate(samples):
            if s[0] < first[0] or s[0] > end[0]:
                continue
            while j < len(samples) and samples[j][0] < s[0] + 1000:
                j += 1
            if j < len(samples) and samples[j][0] <= end[0]:
                rate = (samples[j][1] - s[1]) * 1000.0 / (samples[j][0] - s[0])
                slow = rate if slow is None else min(slow, rate)
        r["slowest_second_events_per_s"] = round(slow) if slow is not None else None
    mem = meta["city_used_memory_after"] - meta["city_used_memory_before"]
    r["city_used_memory_bytes"] = mem
    r["city_bytes_per_mirrored_order"] = round(mem / max(1, meta["mirrored_orders"]))
    r["city_bytes_per_stored_event"] = round(mem / max(1, end[1]))
    r["city_event_stream_bytes_per_event"] = round(meta["city_stream_bytes"] / max(1, end[1]))
    r["city_order_hash_bytes"] = meta["city_order_hash_bytes"]
    r["city_order_events_list_bytes"] = meta["city_order_ev_bytes"]
    r["mirrored_orders"] = meta["mirrored_orders"]
    r["county_used_memory_bytes"] = meta["county_used_memory"]
    r["county_backlog_bytes_per_event"] = round(meta["county_used_memory"] / n)
    r["city_intake_cpu_s"] = meta.get("city_intake_cpu_s")
    r["county_notifier_cpu_s"] = meta.get("county_notifier_cpu_s")
    r["city_redis_cpu_s"] = meta.get("city_redis_cpu_s")
    r["county_redis_cpu_s"] = meta.get("county_redis_cpu_s")
    with open(out, "w") as f:
        json.dump(r, f, indent=2)
        f.write("\n")

    def row(k, v):
        print("  %-46s %s" % (k, v))
    print("feed: a county's backlog of %d events (%d orders) caught up by the city" % (n, orders))
    row("backlog written to the county's Redis", "%.1f s" % meta["load_s"])
    row("caught up", "yes" if done else "NO (%d of %d stored)" % (end[1], n))
    if first:
        row("first event stored after the city started", "%.2f s" % r["first_stored_after_s"])
        row("all stored after the city started", "%.2f s" % r["catch_up_s"])
        row("catch-up events/s (first stored to last)", r["events_per_s"])
        row("catch-up events/s (from the city's start)", r["events_per_s_from_start"])
        row("slowest second, events/s", r["slowest_second_events_per_s"])
    row("city used_memory added", "%.1f MiB" % (mem / 1048576.0))
    row("city bytes per mirrored order (all of it)", r["city_bytes_per_mirrored_order"])
    row("city bytes per stored event (all of it)", r["city_bytes_per_stored_event"])
    row("  of which the county's event stream, per event", r["city_event_stream_bytes_per_event"])
    row("  one mirrored order's hash", r["city_order_hash_bytes"])
    row("  one mirrored order's event list (5 events)", r["city_order_events_list_bytes"])
    row("county used_memory with the backlog, per event", r["county_backlog_bytes_per_event"])
    for k in ("city_intake_cpu_s", "county_notifier_cpu_s", "city_redis_cpu_s",
              "county_redis_cpu_s"):
        if r.get(k) is not None:
            row(k.replace("_", " ").replace(" s", " (s)"), r[k])
    return 0 if done else 1


def main():
    if len(sys.argv) < 2:
        usage()
    if sys.argv[1] == "backlog":
        backlog(sys.argv[2:])
        return 0
    if sys.argv[1] == "report":
        return report(sys.argv[2:])
    usage("unknown command " + sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
