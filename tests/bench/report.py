"""report.py -- scripts/bench's report: joins the load generator's and the sink's records.

    /usr/bin/python3 report.py DIR OUT.json

DIR holds what scripts/bench's pipeline case collected: loadgen.json + loadgen.tsv (send and
answer times per ticket), sink.tsv (webhook receive times), redis-before.txt /
redis-after.txt (INFO commandstats, memory, persistence), cpu.txt (utime+stime of each process
at the phase boundaries), SERVICE.metrics (/metrics after the run), outbox.txt, sink-count.json
and meta.json. Prints a table, writes the same figures as JSON to OUT. Exit status: 1 when an accepted ticket got no webhook
(lost, or the drain timed out), 3 when some requests were not accepted, else 0.
"""
import json
import os
import re
import sys
from benchlib import histogram, percentile, read_metrics, read_tsv

# The notification that ends a ticket's run through the pipeline: the lead unit's new order
# (role "lead"; co-handlers get role "co"), or the dispatcher's when the router was not sure
# enough and queued it for manual dispatch.
FIRST_KINDS = ("unit.new_order", "dispatch.manual")
PHASES = ("accepted", "delivered", "drained")
PROCS = ("redis", "intake", "router", "watcher", "notifier", "sink")
SERVICES = ("intake", "router", "watcher", "notifier")


def read_info(path):
    """INFO text -> (commandstats {cmd: {calls, usec}}, plain fields {name: value})."""
    cmds, fields = {}, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or ":" not in line:
                continue
            name, value = line.split(":", 1)
            if name.startswith("cmdstat_"):
                kv = dict(p.split("=", 1) for p in value.split(","))
                cmds[name[len("cmdstat_"):]] = {"calls": int(kv["calls"]),
                                                "usec": int(kv["usec"])}
            else:
                fields[name] = value
    return cmds, fields


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    d, out_path = sys.argv[1], sys.argv[2]
    meta = json.load(open(os.path.join(d, "meta.json")))
    lg = json.load(open(os.path.join(d, "loadgen.json")))
    n = meta["tickets"]

    # -- join on ticket id ---------------------------------------------------------------
    sent, accepted_at = {}, []
    for _, tid, send_ns, accept_ns, status, attempts in read_tsv(os.path.join(d, "loadgen.tsv")):
        if tid != "-" and int(accept_ns) > 0:
            sent[tid] = int(send_ns)
            accepted_at.append(int(accept_ns))
    first, kinds, duplicates, deliveries, others = {}, {}, 0, 0, {}
    for tid, kind, role, recv_ns, dup, nid in read_tsv(os.path.join(d, "sink.tsv")):
        deliveries += 1
        label = kind + ("(%s)" % role if role != "-" else "")
        kinds[label] = kinds.get(label, 0) + 1
        if dup == "1":
            duplicates += 1
            continue
        if tid not in sent:
            continue
        if kind in FIRST_KINDS and role != "co" and tid not in first:
            first[tid] = int(recv_ns)
        else:
            others.setdefault(label, []).append((int(recv_ns) - sent[tid]) / 1e6)
    other_ms = {}
    for label, values in sorted(others.items()):
        values.sort()
        other_ms[label] = {"count": len(values), "p50": round(percentile(values, 0.5), 1),
                           "max": round(values[-1], 1)}
    lost = sorted(t for t in sent if t not in first)
    latencies = sorted((first[t] - sent[t]) / 1e6 for t in first)
    t0 = min(sent.values()) if sent else 0
    t_end = max(first.values()) if first else 0
    e2e_secs = (t_end - t0) / 1e9 if first else 0.0
    # tickets accepted and routed per second since the first POST: where a stage falls behind
    timeline = {}
    for ns in accepted_at:
        timeline.setdefault((ns - t0) // 1000000000, [0, 0])[0] += 1
    for ns in first.values():
        timeline.setdefault((ns - t0) // 1000000000, [0, 0])[1] += 1
    timeline = [[int(sec)] + timeline[sec] for sec in sorted(timeline)]
    sink_count = {}
    if os.path.exists(os.path.join(d, "sink-count.json")):
        with open(os.path.join(d, "sink-count.json")) as f:
            sink_count = json.loads(f.read() or "{}")

    # -- Redis ------------------------------------------------------------------------------
    cmd0, f0 = read_info(os.path.join(d, "redis-before.txt"))
    cmd1, f1 = read_info(os.path.join(d, "redis-after.txt"))
    delta = {}
    for name, v in cmd1.items():
        calls = v["calls"] - cmd0.get(name, {}).get("calls", 0)
        usec = v["usec"] - cmd0.get(name, {}).get("usec", 0)
        if name == "zcard":
            calls -= meta.get("bench_zcard_calls", 0)  # the drain check's own
        if name in ("info",) or calls <= 0:
            continue  # the snapshots themselves
        delta[name] = {"calls": calls, "usec": usec}
    total_calls = sum(v["calls"] for v in delta.values())
    fcalls = delta.get("fcall", {"calls": 0, "usec": 0})
    inner = {k: round(v["calls"] / n, 2) for k, v in
             sorted(delta.items(), key=lambda kv: -kv[1]["calls"]) if k != "fcall"}
    mem_delta = int(f1.get("used_memory", 0)) - int(f0.get("used_memory", 0))
    aof_delta = int(f1.get("aof_current_size", 0)) - int(f0.get("aof_current_size", 0))
    aof_rewrites = int(f1.get("aof_rewrites", 0)) - int(f0.get("aof_rewrites", 0))
    # Redis reads from a socket once per arriving pipeline (more for large ones): the closest
    # count of round trips it offers
    reads = int(f1.get("total_reads_processed", 0)) - int(f0.get("total_reads_processed", 0))

    # -- CPU per process per phase --------------------------------------------------------
    snaps, ticks = {}, 100
    with open(os.path.join(d, "cpu.txt")) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "ticks":
                ticks = int(parts[1])
            elif parts[1] == "wall":
                snaps.setdefault(parts[0], {})["wall"] = int(parts[2])
            else:
                snaps.setdefault(parts[0], {})[parts[1]] = int(parts[2]) + int(parts[3])
    cpu = {}
    for phase in PHASES:
        if phase not in snaps or "start" not in snaps:
            continue
        wall = (snaps[phase]["wall"] - snaps["start"]["wall"]) / 1e9
        row = {"wall_s": round(wall, 2)}
        for p in PROCS:
            secs = (snaps[phase].get(p, 0) - snaps["start"].get(p, 0)) / ticks
            row[p] = {"cpu_s": round(secs, 2),
                      "core_pct": round(100 * secs / wall, 1) if wall > 0 else None}
        cpu[phase] = row
    if "accepted" in cpu:
        cpu["accepted"]["loadgen"] = {
            "cpu_s": lg.get("cpu_s"),
            "core_pct": round(100 * lg["cpu_s"] / cpu["accepted"]["wall_s"], 1)
            if cpu["accepted"]["wall_s"] > 0 and "cpu_s" in lg else None}

    # -- the services' own metrics ----------------------------------------------------------
    services = {}
    for s in SERVICES:
        m = read_metrics(os.path.join(d, s + ".metrics"))
        if not m:
            continue
        row = {"batch_ms": histogram(m, "rexian_batch_ms")}
        for key, series in (("frames_in", "rexian_frames_in_total"),
                            ("batches", "rexian_batches_total"),
                            ("redelivered", "rexian_redelivered_total"),
                            ("fastpath_skipped", "rexian_fastpath_skipped_total"),
                            ("redis_errors", "rexian_redis_errors_total"),
                            ("dead_letters", "rexian_dead_letters_total")):
            if series in m:
                row[key] = int(m[series])
        if row.get("batches"):
            row["frames_per_batch"] = round(row.get("frames_in", 0) / row["batches"], 1)
        if s == "intake":
            row["intake_batch_size"] = histogram(m, "rexian_intake_batch_size")
            row["created"] = int(m.get('rexian_tickets_total{result="created"}', 0))
            row["unavailable_503"] = int(m.get('rexian_tickets_total{result="unavailable"}', 0))
        if s == "router":
            row["routed_unit"] = int(m.get('rexian_routed_total{result="unit"}', 0))
            row["routed_manual"] = int(m.get('rexian_routed_total{result="manual"}', 0))
        if s == "notifier":
            row["webhook_ms"] = histogram(m, "rexian_webhook_ms")
        services[s] = {k: v for k, v in row.items() if v is not None}

    outbox, dead = {}, {}
    with open(os.path.join(d, "outbox.txt")) as f:
        for line in f:
            stage, left, dl = line.split()
            outbox[stage] = int(left)
            dead[stage] = int(dl)

    report = {
        "tickets": n,
        "concurrency": meta["concurrency"],
        "accepted": lg["accepted"],
        "not_accepted": lg["errors"],
        "retries_503": lg["retries_503"],
        "reconnects": lg["reconnects"],
        "accepted_per_s": lg["accepted_per_s"],
        "accept_ms": {"p50": lg["accept_ms_p50"], "p99": lg["accept_ms_p99"],
                      "max": lg["accept_ms_max"]},
        "delivered": len(first),
        "lost": len(lost),
        "lost_examples": lost[:10],
        "drained": bool(meta["drained"]),
        "end_to_end_per_s": round(len(first) / e2e_secs, 1) if e2e_secs > 0 else None,
        "end_to_end_s": round(e2e_secs, 3),
        "end_to_end_ms": {"p50": round(percentile(latencies, 0.5), 1) if latencies else None,
                          "p99": round(percentile(latencies, 0.99), 1) if latencies else None,
                          "max": round(latencies[-1], 1) if latencies else None},
        "webhooks": {"deliveries": deliveries, "duplicates": duplicates, "by_kind": kinds,
                     "other_ms_after_post": other_ms,
                     "not_recorded_by_sink": sink_count.get("dropped", 0)},
        "redis": {
            "commands_per_ticket": round(total_calls / n, 2),
            "fcall_per_ticket": round(fcalls["calls"] / n, 2),
            "inner_commands_per_ticket": round((total_calls - fcalls["calls"]) / n, 2),
            "by_command_per_ticket": inner,
            "socket_reads_per_ticket": round(reads / n, 2),
            "fcall_usec_per_ticket": round(fcalls["usec"] / n, 1),
            "used_memory_bytes_per_ticket": round(mem_delta / n, 1),
            "aof_bytes_per_ticket": round(aof_delta / n, 1) if aof_rewrites == 0 else None,
            "aof_rewrites": aof_rewrites,
            "note": "INFO commandstats deltas over the run; commands run inside functions are "
                    "counted under their own names, so commands = FCALLs + inner commands + "
                    "the services' few background calls (heartbeats, outbox and clock claims)",
        },
        "outbox_left": outbox,
        "dead_letters": dead,
        "cpu": cpu,
        "services": services,
        "timeline_per_s": {"columns": ["second", "accepted", "routed"], "rows": timeline},
    }
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, out_path)

    # -- the table ----------------------------------------------------------------------------
    r, e = report, report["end_to_end_ms"]
    rows = [
        ("tickets (concurrency)", "%d (%d)" % (n, r["concurrency"])),
        ("accepted / not accepted", "%d / %d  (503 retries %d)" % (
            r["accepted"], r["not_accepted"], r["retries_503"])),
        ("accepted tickets/s", "%.0f" % r["accepted_per_s"]),
        ("answer ms p50 / p99 / max", "%.1f / %.1f / %.1f" % (
            r["accept_ms"]["p50"], r["accept_ms"]["p99"], r["accept_ms"]["max"])),
        ("end-to-end tickets/s", "%s  (first POST to last webhook: %.2f s)" % (
            "%.0f" % r["end_to_end_per_s"] if r["end_to_end_per_s"] else "-", e2e_secs)),
        ("end-to-end ms p50 / p99 / max", "%s / %s / %s" % (e["p50"], e["p99"], e["max"])),
        ("delivered / lost", "%d / %d" % (r["delivered"], r["lost"])),
        ("webhooks, duplicates", "%d, %d  %s" % (deliveries, duplicates, json.dumps(kinds))),
        ("other notifications, ms", "; ".join(
            "%s p50 %s max %s" % (k, v["p50"], v["max"]) for k, v in other_ms.items()) or "-"),
        ("Redis commands / ticket", "%.2f  (FCALL %.2f + inner %.2f)" % (
            r["redis"]["commands_per_ticket"], r["redis"]["fcall_per_ticket"],
            r["redis"]["inner_commands_per_ticket"])),
        ("Redis socket reads / ticket", "%.2f  (about the round trips)" % (
            r["redis"]["socket_reads_per_ticket"])),
        ("  by command / ticket", ", ".join("%s %.2f" % kv for kv in list(inner.items())[:12])),
        ("Redis FCALL time / ticket", "%.1f us" % r["redis"]["fcall_usec_per_ticket"]),
        ("Redis memory / ticket", "%.0f bytes (AOF %s)" % (
            r["redis"]["used_memory_bytes_per_ticket"],
            "%.0f bytes" % r["redis"]["aof_bytes_per_ticket"] if aof_rewrites == 0
            else "rewritten %d times during the run" % aof_rewrites)),
        ("outbox left after drain", ", ".join("%s %d" % kv for kv in outbox.items())),
    ]
    if "accepted" in cpu:
        c = cpu["accepted"]
        rows.append(("CPU % of a core, accepting", ", ".join(
            "%s %s" % (p, c[p]["core_pct"]) for p in PROCS + ("loadgen",) if p in c)))
    if "drained" in cpu:
        c = cpu["drained"]
        rows.append(("CPU s, whole run (%.1f s)" % c["wall_s"], ", ".join(
            "%s %.1f" % (p, c[p]["cpu_s"]) for p in PROCS)))
    for s, row in services.items():
        bits = []
        if "intake_batch_size" in row:
            bits.append("creates/Redis batch mean %s" % row["intake_batch_size"]["mean"])
        if "batch_ms" in row:
            b = row["batch_ms"]
            bits.append("batch_ms mean %s p99<=%s (%d batches, %s frames each)" % (
                b["mean"], b["p99_le"], b["count"], row.get("frames_per_batch", "-")))
        if row.get("redelivered"):
            bits.append("redelivered %d" % row["redelivered"])
        if row.get("fastpath_skipped"):
            bits.append("fast path skipped %d" % row["fastpath_skipped"])
        if "webhook_ms" in row:
            bits.append("webhook_ms mean %s" % row["webhook_ms"]["mean"])
        if s == "router":
            bits.append("routed unit %d manual %d" % (row["routed_unit"], row["routed_manual"]))
        rows.append((s, "; ".join(bits)))
    rows.append(("accepted/routed per s", " ".join(
        "%d/%d" % (a, b) for _, a, b in timeline[:24]) + (" ..." if len(timeline) > 24 else "")))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print("%-*s  %s" % (width, k, v))
    if sink_count.get("dropped"):
        print("the sink could not record %d deliveries: the figures above miss them"
              % sink_count["dropped"])
    if lost or not meta["drained"]:
        print("LOST: %d accepted tickets got no webhook, e.g. %s" % (len(lost), lost[:5]))
        return 1
    if r["not_accepted"]:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
