"""surge.py -- scripts/bench's notifiers case report: one slow receiver, 1, 2, 4 notifiers.

    /usr/bin/python3 surge.py DIR OUT.json

DIR holds one folder per round, nN for N notifier instances, each with what scripts/bench
collected: meta.json, loadgen.json + loadgen.tsv (send time per ticket), sink.tsv (receive
time per webhook, stamped on arrival; the receiver answers --delay-ms later), notifierK.metrics,
cpu.txt and outbox.txt. Prints a table (a row per round) and writes the figures as JSON to OUT.
Exit status: 1 when a round did not deliver every accepted ticket's notifications, 3 when some
requests were not accepted, else 0.
"""
import json
import os
import re
import sys
from benchlib import read_cpu_snaps, percentile, read_metrics, read_tsv, summary

FIRST_KINDS = ("unit.new_order", "dispatch.manual")


def cpu(path):
    snaps, ticks = read_cpu_snaps(path)
    a, b = snaps["start"], snaps["drained"]
    wall = (b["wall"] - a["wall"]) / 1e9
    out = {"wall_s": round(wall, 2)}
    for proc in a:
        if proc != "wall":
            out[proc] = round(100 * (b.get(proc, 0) - a[proc]) / ticks / wall, 1) if wall else None
    return out


def one_round(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    lg = json.load(open(os.path.join(d, "loadgen.json")))
    sent, last_accept = {}, 0
    for _, tid, send_ns, accept_ns, _, _ in read_tsv(os.path.join(d, "loadgen.tsv")):
        if tid != "-" and int(accept_ns) > 0:
            sent[tid] = int(send_ns)
            last_accept = max(last_accept, int(accept_ns))
    first, recv, all_e2e, dups, deliveries = {}, [], [], 0, 0
    for tid, kind, role, recv_ns, dup, _ in read_tsv(os.path.join(d, "sink.tsv")):
        deliveries += 1
        if dup == "1":
            dups += 1
            continue
        ns = int(recv_ns)
        recv.append(ns)
        if tid in sent:
            all_e2e.append((ns - sent[tid]) / 1e6)
            if kind in FIRST_KINDS and role != "co" and tid not in first:
                first[tid] = ns
    recv.sort()
    span = (recv[-1] - recv[0]) / 1e9 if len(recv) > 1 else 0.0
    per_s = {}
    for ns in recv:
        per_s[(ns - recv[0]) // 1000000000] = per_s.get((ns - recv[0]) // 1000000000, 0) + 1
    t0 = min(sent.values()) if sent else 0
    # once intake has answered the last POST, Redis and the CPUs serve mostly the notifiers
    after = [ns for ns in recv if ns > last_accept]
    drain_span = (after[-1] - last_accept) / 1e9 if after else 0.0
    instances = []
    for name in sorted(os.listdir(d)):
        m = re.fullmatch(r"notifier(\d+)\.metrics", name)
        if m:
            mt = read_metrics(os.path.join(d, name))
            instances.append({
                "instance": int(m.group(1)),
                "delivered": int(mt.get('rexian_webhooks_total{result="delivered"}', 0)),
                "failed": int(mt.get('rexian_webhooks_total{result="failed"}', 0)),
                "redelivered": int(mt.get("rexian_redelivered_total", 0)),
                "webhook_ms_mean": round(
                    mt["rexian_webhook_ms_sum"] / mt["rexian_webhook_ms_count"], 1)
                if mt.get("rexian_webhook_ms_count") else None})
    outbox = {}
    with open(os.path.join(d, "outbox.txt")) as f:
        for line in f:
            stage, left, dead = line.split()
            outbox[stage] = {"left": int(left), "dead": int(dead)}
    lost = [t for t in sent if t not in first]
    return {
        "instances": meta["instances"],
        "tickets": meta["tickets"],
        "accepted": lg["accepted"],
        "not_accepted": lg["errors"],
        "accepted_per_s": lg["accepted_per_s"],
        "deliveries": deliveries,
        "unique": len(recv),
        "duplicates": dups,
        "delivered_per_s": round(len(recv) / span, 1) if span > 0 else None,
        "peak_1s": max(per_s.values()) if per_s else 0,
        "delivered_after_last_post": len(after),
        "delivered_per_s_after_last_post": round(len(after) / drain_span, 1)
        if drain_span > 0 else None,
        "first_to_last_delivery_s": round(span, 2),
        "first_post_to_last_delivery_s": round((recv[-1] - t0) / 1e9, 2) if recv and t0 else None,
        "end_to_end_ms_first_notification": summary(
            [(first[t] - sent[t]) / 1e6 for t in first]),
        "end_to_end_ms_all_notifications": summary(all_e2e),
        "lost_tickets": len(lost),
        "drained": bool(meta["drained"]),
        "per_instance": instances,
        "outbox_after": outbox,
        "cpu_core_pct": cpu(os.path.join(d, "cpu.txt")),
    }


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    d, out_path = sys.argv[1], sys.argv[2]
    rounds = []
    for name in os.listdir(d):
        if re.fullmatch(r"n\d+", name) and os.path.exists(os.path.join(d, name, "meta.json")):
            rounds.append(one_round(os.path.join(d, name)))
    rounds.sort(key=lambda r: r["instances"])
    meta = json.load(open(os.path.join(d, "meta.json")))
    for r in rounds:
        r["ceiling_per_s"] = round(r["instances"] * meta["parallel"] * 1000 / meta["delay_ms"]) \
            if meta["delay_ms"] > 0 else None
    result = dict(meta, rounds=rounds)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    print("-- notifiers: receiver answers after %d ms, [notifier] parallel = %d, %d tickets "
          "a round" % (meta["delay_ms"], meta["parallel"], meta["tickets"]))
    head = ("notifiers", "ceiling/s", "delivered/s", "after POSTs/s", "peak 1s", "webhooks",
            "dups",
            "e2e p50 ms", "e2e p99 ms", "all p50 ms", "all p99 ms", "per instance",
            "slot ms", "CPU % of a core")
    rows = []
    for r in rounds:
        e, a = r["end_to_end_ms_first_notification"], r["end_to_end_ms_all_notifications"]
        c = r["cpu_core_pct"]
        rows.append((str(r["instances"]), str(r["ceiling_per_s"]), str(r["delivered_per_s"]),
                     "%s (%d)" % (r["delivered_per_s_after_last_post"],
                                  r["delivered_after_last_post"]),
                     str(r["peak_1s"]), str(r["unique"]), str(r["duplicates"]), str(e["p50"]),
                     str(e["p99"]), str(a["p50"]), str(a["p99"]),
                     "/".join(str(i["delivered"]) for i in r["per_instance"]),
                     "/".join(str(i["webhook_ms_mean"]) for i in r["per_instance"]),
                     " ".join("%s %s" % (k, v) for k, v in c.items() if k != "wall_s")))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    for row in [head] + rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    print("delivered/s: first to last delivery; after POSTs/s: from intake's last answer to "
          "the last delivery (how many then)")
    print("ceiling: instances x parallel transfers / the receiver's delay; slot ms: each "
          "instance's mean webhook time (rexian_webhook_ms), the receiver answering after %d ms;"
          "\ne2e: a ticket's POST to its lead unit's notification arriving; all: every "
          "notification, from its ticket's POST" % meta["delay_ms"])
    status = 0
    for r in rounds:
        if r["lost_tickets"] or not r["drained"]:
            print("round with %d notifier(s): %d accepted tickets got no notification%s" % (
                r["instances"], r["lost_tickets"], "" if r["drained"] else ", did not drain"))
            status = 1
        elif r["not_accepted"] and status == 0:
            status = 3
    return status


if __name__ == "__main__":
    sys.exit(main())
