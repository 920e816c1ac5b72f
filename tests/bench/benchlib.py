"""benchlib.py -- what the benchmark's report scripts share: percentiles, TSV and Prometheus
text readers, histogram summaries, RESP encoding for redis-cli --pipe."""
import os
import re


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int((len(sorted_values) - 1) * q))]


def summary(values):
    values = sorted(values)
    if not values:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    return {"count": len(values), "p50": round(percentile(values, 0.5), 1),
            "p99": round(percentile(values, 0.99), 1), "max": round(values[-1], 1)}


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if not line.startswith("#")]


def read_metrics(path):
    """Prometheus text -> {series name with labels: value}; {} when the file is missing."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.strip().rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def histogram(metrics, base):
    """Count, mean and the bucket bounds that hold p50, p99 and the largest observation (None
    when the histogram is absent)."""
    count = metrics.get(base + "_count")
    if not count:
        return None
    buckets = []
    for name, value in metrics.items():
        m = re.fullmatch(re.escape(base) + r'_bucket\{le="([^"]+)"\}', name)
        if m:
            buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), value))
    buckets.sort()

    def bound(q):
        for le, cum in buckets:
            if cum >= q * count:
                return le
        return None

    return {"count": int(count), "mean": round(metrics.get(base + "_sum", 0.0) / count, 2),
            "p50_le": bound(0.5), "p99_le": bound(0.99), "max_le": bound(1.0)}


def read_cpu_snaps(path):
    """A CPU snapshot file ('ticks N', then 'LABEL wall NS' and 'LABEL PROC UTIME STIME'
    lines): ({label: {'wall': ns, proc: ticks}}, clock ticks per second)."""
    snaps, ticks = {}, 100
    with open(path) as f:
        for line in f:
            p = line.split()
            if p[0] == "ticks":
                ticks = int(p[1])
            elif p[1] == "wall":
                snaps.setdefault(p[0], {})["wall"] = int(p[2])
            else:
                snaps.setdefault(p[0], {})[p[1]] = int(p[2]) + int(p[3])
    return snaps, ticks


def resp(args):
    """One command in RESP (for redis-cli --pipe), as bytes."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode("utf-8") if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)
