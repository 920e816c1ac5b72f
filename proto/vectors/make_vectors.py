#!/usr/bin/python3
# make_vectors.py -- writes proto/vectors/vectors.json and the fuzz seed corpus from the list below
#
# The bytes come from the small encoder in this file, not from a MessagePack library, so that the
# C codec and python3-msgpack check the vectors against something neither of them produced.
# Run it after changing a vector: /usr/bin/python3 proto/vectors/make_vectors.py
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")

# ------------------------------------------------------------------------------------------------
# A MessagePack encoder with explicit control over the encoding of each value
# ------------------------------------------------------------------------------------------------


class F64:
    """A float64 (0xcb), whatever its value: the way Lua numbers arrive."""

    def __init__(self, v):
        self.v = float(v)


class Forced:
    """An int or str written with a given wider format (e.g. 0xd3 int64 for a positive value)."""

    def __init__(self, fmt, v):
        self.fmt, self.v = fmt, v


class Raw:
    """Bytes written as they are; meaning is what they stand for in valid vectors."""

    def __init__(self, b, meaning=None):
        self.b, self.meaning = b, meaning


class MapN:
    """A map written with a given header (fix, 16 or 32) and its pairs in the given order."""

    def __init__(self, fmt, pairs):
        self.fmt, self.pairs = fmt, pairs


EMPTY_BODY_ARRAY = Raw(b"\x90", {})  # Lua cmsgpack writes an empty table as an empty array


def enc_str(s, fmt=None):
    b = s.encode("utf-8") if isinstance(s, str) else s
    n = len(b)
    if fmt is None:
        fmt = "fix" if n < 32 else "8" if n < 256 else "16" if n < 65536 else "32"
    head = {
        "fix": lambda: bytes([0xA0 | n]),
        "8": lambda: b"\xd9" + struct.pack(">B", n),
        "16": lambda: b"\xda" + struct.pack(">H", n),
        "32": lambda: b"\xdb" + struct.pack(">I", n),
    }[fmt]()
    return head + b


def enc_int(v):
    if 0 <= v < 128:
        return bytes([v])
    if -32 <= v < 0:
        return struct.pack(">b", v)
    if v >= 0:
        for code, f, lim in ((0xCC, ">B", 1 << 8), (0xCD, ">H", 1 << 16), (0xCE, ">I", 1 << 32)):
            if v < lim:
                return bytes([code]) + struct.pack(f, v)
        return b"\xcf" + struct.pack(">Q", v)
    for code, f, lim in ((0xD0, ">b", 1 << 7), (0xD1, ">h", 1 << 15), (0xD2, ">i", 1 << 31)):
        if v >= -lim:
            return bytes([code]) + struct.pack(f, v)
    return b"\xd3" + struct.pack(">q", v)


def enc_map_header(n, fmt=None):
    if fmt is None:
        fmt = "fix" if n < 16 else "16" if n < 65536 else "32"
    return {"fix": lambda: bytes([0x80 | n]), "16": lambda: b"\xde" + struct.pack(">H", n),
            "32": lambda: b"\xdf" + struct.pack(">I", n)}[fmt]()


def enc_array_header(n):
    if n < 16:
        return bytes([0x90 | n])
    return b"\xdc" + struct.pack(">H", n) if n < 65536 else b"\xdd" + struct.pack(">I", n)


def enc(o):
    if isinstance(o, Raw):
        return o.b
    if isinstance(o, F64):
        return b"\xcb" + struct.pack(">d", o.v)
    if isinstance(o, Forced):
        if o.fmt == "int64":
            return b"\xd3" + struct.pack(">q", o.v)
        if o.fmt == "uint64":
            return b"\xcf" + struct.pack(">Q", o.v)
        return enc_str(o.v, o.fmt)
    if isinstance(o, MapN):
        return enc_map_header(len(o.pairs), o.fmt) + b"".join(enc(k) + enc(v) for k, v in o.pairs)
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        return enc_int(o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, (str, bytes)):
        return enc_str(o)
    if isinstance(o, dict):
        return enc_map_header(len(o)) + b"".join(enc(k) + enc(v) for k, v in o.items())
    if isinstance(o, (list, tuple)):
        return enc_array_header(len(o)) + b"".join(enc(v) for v in o)
    raise TypeError(o)


def meaning(o):
    """The frame as the protocol reads it: numbers by value, an empty array body as {}."""
    if isinstance(o, Raw):
        if o.meaning is None:
            raise ValueError("Raw without meaning in a valid vector")
        return o.meaning
    if isinstance(o, F64):
        return int(o.v) if o.v.is_integer() else o.v
    if isinstance(o, Forced):
        return o.v
    if isinstance(o, MapN):
        return {meaning(k): meaning(v) for k, v in o.pairs}
    if isinstance(o, dict):
        return {meaning(k): meaning(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [meaning(v) for v in o]
    if isinstance(o, float) and o.is_integer():
        return int(o)
    return o


# ------------------------------------------------------------------------------------------------
# The vectors
# ------------------------------------------------------------------------------------------------

TS = 1764043200000  # 2025-11-25 04:00:00 UTC
TICKET = "BX-20251125-000123"
VECTORS = []


def frame(type_, body_, **over):
    f = {"v": 1, "type": type_, "id": "intake-1/" + TICKET + "/1", "ts": TS,
         "src": "intake-1@bx", "tier": "bx", "body": body_}
    for k, v in over.items():
        if v is DROP:
            del f[k]
        else:
            f[k] = v
    return f


DROP = object()


def valid(name, obj, note):
    VECTORS.append({"name": name, "hex": enc(obj).hex(), "valid": True, "error": None,
                    "meaning": meaning(obj), "note": note})


def invalid(name, data, error, note):
    if not isinstance(data, bytes):
        data = enc(data)
    VECTORS.append({"name": name, "hex": data.hex(), "valid": False, "error": error,
                    "meaning": None, "note": note})


CREATED = {
    "ticket": TICKET,
    "text": "城关镇人民路12号楼下污水井冒水，已经两天了，路过的老人差点滑倒，希望尽快处理。",
    "address": "北县城关镇人民路12号",
    "township": "cgz",
    "category": "complaint",
    "channel": "phone",
    "created_at": TS - 1000,
}
CREATED_MIN = {"ticket": TICKET, "text": "咨询社保卡补办需要带什么材料", "channel": "web",
               "created_at": TS - 1000}
DISPATCHED = {"ticket": TICKET, "unit": "bx.zjj", "co_units": ["bx.cgz", "bx.swj"],
              "urgency": "urgent", "category": "complaint", "dispatched_at": TS}
DISPATCHED_MIN = {"ticket": TICKET, "unit": "bx.cgz", "urgency": "normal", "dispatched_at": TS}
NOTIFY_NEW = {"ticket": TICKET, "nid": TICKET + "/unit.new_order/bx.zjj", "kind": "unit.new_order",
              "target": "bx.zjj", "unit": "bx.zjj", "summary": "城关镇人民路12号污水井冒水"}
NOTIFY_DUE = {"ticket": TICKET, "nid": TICKET + "/deadline.due/ack/1", "kind": "deadline.due",
              "target": "supervisor", "stage": "ack", "due_at": TS + 15 * 60 * 1000,
              "unit": "bx.zjj", "summary": "签收时限将到：城关镇人民路12号污水井冒水"}

# --- valid ------------------------------------------------------------------------------------
valid("ticket_created_full", frame("ticket.created", CREATED),
      "intake -> router, every body field present, UTF-8 text")
valid("ticket_created_minimal", frame("ticket.created", CREATED_MIN),
      "intake -> router, required body fields only")
valid("ticket_dispatched_co_units", frame("ticket.dispatched", DISPATCHED,
                                          id="router-2/" + TICKET + "/2", src="router-2@bx"),
      "router -> watcher with two co-handling units")
valid("ticket_dispatched_minimal", frame("ticket.dispatched", DISPATCHED_MIN,
                                         id="router-2/" + TICKET + "/2", src="router-2@bx"),
      "router -> watcher, required body fields only")
valid("notify_unit_new_order", frame("notify", NOTIFY_NEW, id="router-2/" + TICKET + "/2/n1",
                                     src="router-2@bx"),
      "router -> notifier: tell the lead unit")
valid("notify_deadline_due", frame("notify", NOTIFY_DUE, id="watcher-1/" + TICKET + "/ack/due",
                                   src="watcher-1@bx"),
      "watcher -> notifier: the acknowledge deadline is near")

lua_body = MapN("fix", [("due_at", F64(TS + 3600000)), ("target", "dispatcher"),
                        ("kind", "dispatch.manual"), ("ticket", TICKET),
                        ("nid", TICKET + "/dispatch.manual/1")])
valid("notify_lua_cmsgpack_style",
      MapN("fix", [("tier", "bx"), ("body", lua_body), ("ts", F64(TS)), ("type", "notify"),
                   ("v", 1), ("src", "redeliver@bx"), ("id", "outbox/" + TICKET + "/n7")]),
      "built like a Redis Lua cmsgpack frame: keys in hash order, ts and due_at as integral "
      "float64 (Lua numbers), str8 for strings of 32 bytes and more")
valid("lua_cmsgpack_style_empty_body",
      MapN("fix", [("src", "redeliver@bx"), ("body", EMPTY_BODY_ARRAY), ("v", 1),
                   ("id", "outbox/" + TICKET + "/n8"), ("ts", F64(TS)), ("tier", "bx"),
                   ("type", "notify")]),
      "Lua cmsgpack writes an empty table as an empty array: body [] reads as {}; the codec "
      "accepts it, the notifier would then refuse the body (no ticket)")
valid("envelope_map32_unknown_fields",
      MapN("32", [("v", 1), ("type", "ticket.created"), ("trace", "00f067aa0ba902b7"),
                  ("id", "intake-1/" + TICKET + "/1"), ("ts", TS), ("src", "intake-1@bx"),
                  ("tier", "bx"), ("body", dict(CREATED_MIN, x_future={"a": [1, 2]})),
                  ("x_later", [True, None])]),
      "top-level map32 header; unknown envelope and body fields are ignored")
valid("int_encodings",
      frame("ticket.created",
            dict(CREATED_MIN, created_at=Forced("uint64", TS - 1000), x_neg=-1, x_neg8=-100,
                 x_neg64=-9223372036854775808, x_u8=200, x_max=9223372036854775807),
            v=F64(1), ts=Forced("int64", TS)),
      "v as float64 1.0, ts as int64 (0xd3) with a positive value, created_at as uint64, "
      "negative and extreme ints in the body")
valid("depth_8_boundary", frame("ticket.created", dict(CREATED_MIN, x=[[[[[[]]]]]])),
      "frame map (1) > body (2) > six nested arrays (3..8): exactly PROTO_MAX_DEPTH")
valid("utf8_edges",
      frame("ticket.created", dict(CREATED_MIN, x_edges="\u007f\u0080\u07ff\u0800\ud7ff\ue000"
                                   "\uffff\U00010000\U0010ffff", x_emoji="下水道🚧", x_nul="a\u0000b")),
      "UTF-8 at the edges of each sequence length, a 4-byte emoji, and a NUL byte (valid "
      "MessagePack; proto_body_str refuses it, proto_body_raw reads it)")
valid("src_empty_nil_bool_float",
      frame("ticket.created", dict(CREATED_MIN, address=None, x_flag=True, x_ratio=0.25), src=""),
      "src may be empty; a nil body value reads as absent; bools and floats pass through")
valid("text_str16",
      frame("ticket.created", dict(CREATED_MIN, text="小区门口的路灯坏了一个多月，晚上很黑。" * 30)),
      "a 1710-byte text written as str16")
N_MAX_NILS = 8192 - 17  # 15 envelope objects + key + array
valid("elements_8192_boundary", frame("ticket.created", {"x": [None] * N_MAX_NILS}),
      "exactly PROTO_MAX_ELEMENTS (8192) objects")

# --- invalid: MessagePack structure and limits -------------------------------------------------
good = enc(frame("ticket.created", CREATED))
body_text_prefix = enc(frame("ticket.created", Raw(b"")))  # everything up to the body value


def with_body(raw_body):
    return body_text_prefix + raw_body


invalid("size_empty", b"", "size", "a frame of no bytes")
invalid("count_top_map32", bytes.fromhex("df10000000"), "count",
        "5 bytes declaring 268435456 map entries: msgpack-c would try to allocate ~13 GB")
invalid("count_top_array32", bytes.fromhex("ddffffffff"), "count",
        "an array declaring 4294967295 items with nothing after it")
invalid("count_top_map16", bytes.fromhex("deffff81a161"), "count",
        "map16 declaring 65535 entries, 3 bytes follow")
invalid("count_fixmap_two_bytes_per_entry", bytes.fromhex("83a16101a162"), "count",
        "3 entries need at least 6 bytes, 5 follow (a map entry takes 2 bytes at least)")
invalid("count_nested_body_map32", with_body(bytes.fromhex("df10000000")), "count",
        "a valid envelope whose body declares 268435456 entries")
invalid("count_nested_array32",
        enc(frame("ticket.dispatched", MapN("fix", [("ticket", TICKET),
                                                    ("co_units", Raw(bytes.fromhex("dd7fffffff"))),
                                                    ("unit", "bx.zjj")]))),
        "count", "co_units declares 2147483647 items in the middle of the body")
invalid("count_nested_array16", with_body(bytes.fromhex("81a178dcffff01")), "count",
        "body.x declares 65535 items, one follows")
invalid("depth_33_arrays_top", b"\x91" * 33 + b"\xc0", "depth",
        "33 nested arrays: msgpack-c itself fails past 32 levels with a NOMEM error")
invalid("depth_40_maps_top", b"\x81\xa1a" * 40 + b"\xc0", "depth", "40 nested maps")
invalid("depth_9_in_body", enc(frame("ticket.created", dict(CREATED_MIN, x=[[[[[[[]]]]]]]))),
        "depth", "frame map (1) > body (2) > seven nested arrays: depth 9, limit 8")
invalid("depth_33_in_body", with_body(b"\x81\xa1x" + b"\x91" * 31 + b"\xc0"), "depth",
        "33 levels inside an otherwise valid frame")
invalid("trunc_in_uint64", good[:-3], "trunc", "the last value (created_at, uint64) is cut")
invalid("trunc_missing_last_value", good[:-9], "trunc",
        "the frame ends after the last key: one object short")
invalid("trunc_in_str",
        enc(frame("ticket.created", MapN("fix", [("ticket", TICKET), ("text", "x" * 40)])))[:-10],
        "trunc", "the last str declares 40 bytes, 30 are there")
invalid("trunc_str16_header", with_body(b"\x81\xa4text\xda\x01"), "trunc",
        "the frame ends inside a str16 length")
invalid("trunc_top_uint64", bytes.fromhex("cf0000"), "trunc", "a uint64 with 2 of its 8 bytes")


def body_text(raw_utf8):
    return with_body(b"\x81\xa4text" + enc_str(raw_utf8))


invalid("utf8_overlong_2byte", body_text(b"a\xc0\xafb"), "utf8",
        "C0 AF: '/' written in two bytes")
invalid("utf8_overlong_3byte", body_text(b"\xe0\x80\xaf"), "utf8", "E0 80 AF: '/' in three bytes")
invalid("utf8_overlong_4byte", body_text(b"\xf0\x82\x82\xac"), "utf8", "F0 82 82 AC: U+20AC in four")
invalid("utf8_surrogate", body_text(b"\xed\xa0\x80"), "utf8", "ED A0 80: the surrogate U+D800")
invalid("utf8_lone_continuation", body_text(b"abc\x80"), "utf8", "a continuation byte alone")
invalid("utf8_above_10ffff", body_text(b"\xf4\x90\x80\x80"), "utf8", "F4 90 80 80: U+110000")
invalid("utf8_cut_sequence", body_text("工单".encode()[:-1]), "utf8",
        "the str ends inside a 3-byte sequence")
invalid("utf8_bad_key", with_body(b"\x81\xa2\xff\xfe\x01"), "utf8", "FF FE in a body key")
invalid("str_oversized_str32_header", with_body(b"\x81\xa4text\xdb\x7f\xff\xff\xffabc"), "str",
        "str32 declaring 2 GB, 3 bytes follow: the length is refused before the bytes are looked at")
invalid("str_oversized_bin32_header", with_body(b"\x81\xa1x\xc6\xff\xff\xff\xff"), "str",
        "bin32 declaring 4 GB")
invalid("str_one_over_limit", with_body(b"\x81\xa4text\xdb\x00\x01\x00\x01"), "str",
        "str32 of 65537 bytes, one over PROTO_MAX_STR")
invalid("str_65537_bytes", enc(frame("ticket.created", dict(CREATED_MIN, text="a" * 65537))), "str",
        "a complete str of 65537 bytes")
invalid("elements_8193", enc(frame("ticket.created", {"x": [None] * (N_MAX_NILS + 1)})),
        "elements", "8193 objects, one over PROTO_MAX_ELEMENTS")
invalid("trailing_nil", good + b"\xc0", "trailing", "a valid frame and one byte more")
invalid("trailing_second_frame", good + good, "trailing", "two frames in one message")
invalid("badtype_c1_in_body", with_body(b"\x81\xa1x\xc1"), "badtype", "the reserved byte 0xc1")
invalid("badtype_c1_top", b"\xc1", "badtype", "0xc1 alone")
invalid("badtype_fixext1", with_body(b"\x81\xa1x\xd4\x01\x00"), "badtype", "fixext 1, type 1")
invalid("badtype_ext8_empty", with_body(b"\x81\xa1x\xc7\x00\x01"), "badtype",
        "ext8 of 0 bytes, type 1")
invalid("badtype_timestamp32", with_body(b"\x81\xa1x\xd6\xff\x00\x00\x00\x00"), "badtype",
        "the timestamp extension (type -1): ts is an int of ms here")

# --- invalid: envelope ----------------------------------------------------------------------------
invalid("shape_top_array", [1, 2], "shape", "a frame must be a map")
invalid("shape_top_str", "ticket.created", "shape", "a frame must be a map")
invalid("shape_top_nil", None, "shape", "a frame must be a map")
for field in ("v", "type", "id", "ts", "src", "tier", "body"):
    invalid("shape_missing_" + field, frame("ticket.created", CREATED_MIN, **{field: DROP}),
            "shape", "no `%s` field" % field)
invalid("shape_v_str", frame("notify", NOTIFY_NEW, v="1"), "shape", "v must be an int")
invalid("shape_v_fraction", frame("notify", NOTIFY_NEW, v=F64(1.5)), "shape", "v = 1.5")
invalid("shape_type_int", frame("notify", NOTIFY_NEW, type=7), "shape", "type must be a str")
invalid("shape_type_empty", frame("notify", NOTIFY_NEW, type=""), "shape", "type is 1..48 bytes")
invalid("shape_type_49", frame("notify", NOTIFY_NEW, type="t" * 49), "shape", "type is 1..48 bytes")
invalid("shape_id_empty", frame("notify", NOTIFY_NEW, id=""), "shape", "id is 1..96 bytes")
invalid("shape_id_97", frame("notify", NOTIFY_NEW, id="i" * 97), "shape", "id is 1..96 bytes")
invalid("shape_id_nul", frame("notify", NOTIFY_NEW, id="a\u0000b"), "shape",
        "envelope strings may not hold NUL")
invalid("shape_src_97", frame("notify", NOTIFY_NEW, src="s" * 97), "shape", "src is 0..96 bytes")
invalid("shape_tier_empty", frame("notify", NOTIFY_NEW, tier=""), "shape", "tier is 1..32 bytes")
invalid("shape_tier_33", frame("notify", NOTIFY_NEW, tier="b" * 33), "shape", "tier is 1..32 bytes")
invalid("shape_ts_str", frame("notify", NOTIFY_NEW, ts=str(TS)), "shape", "ts must be an int")
invalid("shape_ts_fraction", frame("notify", NOTIFY_NEW, ts=F64(TS + 0.5)), "shape",
        "a float ts must be integral")
invalid("shape_ts_nan", frame("notify", NOTIFY_NEW, ts=F64(float("nan"))), "shape", "ts = NaN")
invalid("shape_ts_negative", frame("notify", NOTIFY_NEW, ts=-1), "shape", "ts before 1970")
invalid("shape_ts_over_int64", frame("notify", NOTIFY_NEW, ts=Forced("uint64", 1 << 63)), "shape",
        "ts = 2^63 does not fit int64")
invalid("shape_body_str", frame("notify", "{}"), "shape", "body must be a map")
invalid("shape_body_nil", frame("notify", None), "shape", "body must be a map")
invalid("shape_body_nonempty_array", frame("notify", [TICKET]), "shape",
        "only an empty array reads as a map")
invalid("shape_duplicate_type",
        MapN("fix", list(frame("notify", NOTIFY_NEW).items()) + [("type", "ticket.created")]),
        "shape", "a repeated envelope field: decoders disagree on which one wins")
invalid("version_2", frame("notify", NOTIFY_NEW, v=2), "version", "a later version")
invalid("version_0", frame("notify", NOTIFY_NEW, v=0), "version", "v = 0")
invalid("version_float_2", frame("notify", NOTIFY_NEW, v=F64(2)), "version", "v = 2.0")


def main():
    names = [v["name"] for v in VECTORS]
    if len(names) != len(set(names)):
        sys.exit("duplicate vector names")
    out = os.path.join(HERE, "vectors.json")
    with open(out, "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(v, ensure_ascii=False) for v in VECTORS))
        f.write("\n]\n")
    os.makedirs(CORPUS, exist_ok=True)
    for old in os.listdir(CORPUS):
        if old.startswith("v_"):
            os.remove(os.path.join(CORPUS, old))
    for v in VECTORS:
        with open(os.path.join(CORPUS, "v_" + v["name"]), "wb") as f:
            f.write(bytes.fromhex(v["hex"]))
    print("%d vectors -> %s, corpus -> %s" % (len(VECTORS), out, CORPUS))


if __name__ == "__main__":
    main()
