#!/usr/bin/python3
# golden_check.py -- checks proto/vectors/vectors.json with an independent decoder (python3-msgpack)
#
# Valid vectors must unpack to their `meaning`. Invalid vectors must fail here too: the
# MessagePack-level ones (count, trunc, trailing, utf8, badtype, str, size) in msgpack.unpackb
# with strict limits; depth and elements by walking the unpacked value; shape and version by the
# envelope rules of proto/SPEC.md written again below. Prints "N passed, N failed".
import json
import math
import sys

import msgpack

MAX_FRAME = 256 * 1024
MAX_DEPTH = 8
MAX_STR = 64 * 1024
MAX_ELEMENTS = 8192
UNPACK_REFUSES = {"size", "count", "trunc", "trailing", "utf8", "badtype", "str"}


class Refused(Exception):
    """The vector was refused, with the protocol's error name."""

    def __init__(self, error, why):
        super().__init__("%s: %s" % (error, why))
        self.error = error


class Map(dict):
    """A map that remembers which keys appeared more than once."""

    def __init__(self, pairs):
        super().__init__(pairs)
        seen = set()
        self.repeated = {k for k, _ in pairs if k in seen or seen.add(k)}


def no_ext(code, data):
    raise ValueError("ext type %d is not used by the protocol" % code)


def unpack(data):
    if len(data) == 0 or len(data) > MAX_FRAME:
        raise Refused("size", "%d bytes" % len(data))
    try:
        # every declared count must fit in the bytes there are, as in the C pre-check
        return msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=no_ext,
                               object_pairs_hook=Map,
                               max_str_len=MAX_STR, max_bin_len=MAX_STR, max_ext_len=0,
                               max_array_len=len(data), max_map_len=len(data) // 2)
    except (ValueError, msgpack.UnpackException) as e:
        raise Refused("msgpack", "%s: %s" % (type(e).__name__, e))


def walk(o, depth, counter):
    """Counts objects and checks nesting, the way the C pre-check does."""
    counter[0] += 1
    if isinstance(o, (list, dict)):
        depth += 1
        if depth > MAX_DEPTH:
            raise Refused("depth", "nesting %d" % depth)
        for item in o.items() if isinstance(o, dict) else o:
            if isinstance(o, dict):
                walk(item[0], depth, counter)
                walk(item[1], depth, counter)
            else:
                walk(item, depth, counter)
    if counter[0] > MAX_ELEMENTS:
        raise Refused("elements", "%d objects" % counter[0])


def as_int(o):
    """An int, or a float with an integral value in int64 range; None otherwise."""
    if isinstance(o, bool):
        return None
    if isinstance(o, int):
        return o if -(1 << 63) <= o < (1 << 63) else None
    if isinstance(o, float) and math.isfinite(o) and o.is_integer() and -2.0**63 <= o < 2.0**63:
        return int(o)
    return None


def envelope(frame):
    if not isinstance(frame, dict):
        raise Refused("shape", "frame is %s" % type(frame).__name__)
    for name in ("v", "type", "id", "ts", "src", "tier", "body"):
        if name in frame.repeated:
            raise Refused("shape", name + " appears twice")
    if "v" not in frame:
        raise Refused("shape", "missing v")
    v = as_int(frame["v"])
    if v is None:
        raise Refused("shape", "v not an int")
    if v != 1:
        raise Refused("version", "v = %d" % v)
    for name in ("type", "id", "ts", "src", "tier", "body"):
        if name not in frame:
            raise Refused("shape", "missing " + name)
    for name, lo, hi in (("type", 1, 48), ("id", 1, 96), ("src", 0, 96), ("tier", 1, 32)):
        s = frame[name]
        if not isinstance(s, str):
            raise Refused("shape", name + " not a str")
        n = len(s.encode("utf-8"))
        if n < lo or n > hi or "\0" in s:
            raise Refused("shape", "%s: %d bytes or a NUL" % (name, n))
    ts = as_int(frame["ts"])
    if ts is None or ts < 0:
        raise Refused("shape", "ts %r" % (frame["ts"],))
    body = frame["body"]
    if body == []:
        frame["body"] = body = {}
    if not isinstance(body, dict):
        raise Refused("shape", "body is %s" % type(body).__name__)
    return frame


def decode(data):
    frame = unpack(data)
    walk(frame, 0, [0])
    return envelope(frame)


def same(got, want):
    """Equal as the protocol reads values: numbers by value, bool apart from numbers."""
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, (int, float)):
        return isinstance(got, (int, float)) and got == want
    if isinstance(want, dict):
        return (isinstance(got, dict) and got.keys() == want.keys()
                and all(same(got[k], want[k]) for k in want))
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(same(g, w) for g, w in zip(got, want)))
    return type(got) is type(want) and got == want


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: golden_check.py proto/vectors/vectors.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        vectors = json.load(f)
    passed = failed = 0
    kinds = set()
    for vec in vectors:
        name, data = vec["name"], bytes.fromhex(vec["hex"])
        problem = None
        try:
            frame = decode(data)
            if not vec["valid"]:
                problem = "decoded, want error %s" % vec["error"]
            elif not same(frame, vec["meaning"]):
                problem = "decoded to %r, want %r" % (frame, vec["meaning"])
            else:
                kinds.add(frame["type"])
        except Refused as e:
            if vec["valid"]:
                problem = "refused (%s), want valid" % e
            elif e.error == "msgpack":
                if vec["error"] not in UNPACK_REFUSES:
                    problem = "unpackb refused it (%s), want error %s" % (e, vec["error"])
            elif e.error != vec["error"]:
                problem = "refused as %s, want %s" % (e, vec["error"])
        if problem is None:
            passed += 1
        else:
            failed += 1
            print("%s: %s" % (name, problem), file=sys.stderr)
    # the set must keep covering every message type the spec defines
    for kind in ("ticket.created", "ticket.dispatched", "notify"):
        if kind in kinds:
            passed += 1
        else:
            failed += 1
            print("no valid vector of type %s" % kind, file=sys.stderr)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
