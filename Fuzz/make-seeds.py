#!/usr/bin/env python3
"""Writes the seed corpus for every fuzz target into Fuzz/Corpus/<target>/seed-*.

Seeds are small, well-formed starting points (the fuzzer mutates from there) plus the inputs
that once crashed the relay. Layouts follow README "Wire protocol" and Fuzz/Harness/*.swift.
Deterministic: running it again writes the same files. Findings are added beside the seeds as
finding-* files and never rewritten by this script.
"""
import os, struct, pathlib

root = pathlib.Path(__file__).resolve().parent
vectors = root.parent / "Tests/TickwireProtocolTests/Fixtures/netcode-vectors"

def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)

def header(seq, ack_bits=0):
    # ack = seq - 1 (short form), all four ack-bit bytes present when ack_bits == 0
    prefix = 0x20
    if ack_bits == 0: prefix |= 0x1E
    out = bytes([prefix]) + u16(seq) + bytes([1])
    if ack_bits == 0: out += bytes(4)
    return out

def reliable(mid, body): return b"\x01" + u16(mid) + u16(len(body)) + body
def fragment(mid, index, count, body): return b"\x02" + u16(mid) + u16(index) + u16(count) + u16(len(body)) + body
def unreliable(body): return b"\x03" + u16(len(body)) + body
def chunk(b):
    return (bytes([len(b)]) if len(b) < 255 else b"\xff" + u16(len(b))) + b

FRAG = 1200 - 9 - 9   # maxPacketSize - header max - fragment record header

relay = {
    "event-room": b"\x10hello",
    "event-client": b"\x11" + u64(2) + b"psst",
    "resync": b"\x12",
    "peer-joined": b"\x01" + u64(7) + u16(3),
    "peer-left": b"\x02" + u64(7) + b"\x01",
    "event": b"\x03" + u64(7) + b"gg",
    "welcome": b"\x04" + u16(1) + u16(60) + u16(64) + u16(64) + u16(16384),
    "denied": b"\x05\x01",
    "refused": b"\x06\x02",
    "state": b"\x20" + bytes(range(16)),
}

def snapshot(tick, baseline, entries):
    return b"\x30" + u32(tick) + u64(tick * 16667) + u32(baseline) + u16(len(entries)) + b"".join(entries)
def new_entity(eid, cid, state): return u16(eid) + b"\x01" + u64(cid) + bytes([len(state)]) + bytes([0, len(state)]) + state
def changed(eid, state): return u16(eid) + b"\x02" + bytes([len(state)]) + bytes([0, len(state)]) + state
def removed(eid): return u16(eid) + b"\x00"

seeds = {
    "netcode-server": {}, "netcode-client": {},
    "channel-receive": {
        "reliable": b"\x01" + chunk(header(0) + reliable(0, b"\x10abc")),
        "fragments": b"\x01" + chunk(header(0) + fragment(0, 0, 2, b"\x55" * FRAG)) + b"\x01" + chunk(header(1) + fragment(0, 1, 2, b"\x55" * 9)),
        "unreliable": b"\x01" + chunk(header(0, 0xFFFFFFFF) + unreliable(b"\x20\x01\x02")),
        "crash-fragment-counts": b"\x00" + chunk(header(0) + fragment(0, 1, 2, b"\x55" * 100) + fragment(0, 2, 3, b"\x55" * 100)),
        "mixed": b"\x05" + chunk(header(0) + reliable(1, b"x") + reliable(0, b"y") + unreliable(b"")),
    },
    "relay-message": relay,
    "snapshot-decode": {
        "full": chunk(snapshot(3, 0xFFFFFFFF, [new_entity(2, 200, b"\x07" * 8), new_entity(4, 400, b"\x08" * 4)])),
        "delta": chunk(snapshot(3, 2, [changed(1, b"\x01" * 20), removed(9), new_entity(12, 1200, b"\x02" * 3)])),
        "missing-baseline": chunk(snapshot(90, 80, [])),
        "two": chunk(snapshot(3, 1, [removed(5)])) + chunk(snapshot(4, 3, [changed(1, b"\x09" * 16)])),
    },
    "relay-server": {
        # op 0: payload from client k; op 1: advance; op 3: join; op 2: leave
        "crash-empty-state": b"\x00\x00" + chunk(header(0x4000) + unreliable(b"")),
        "crash-empty-state-then-record": b"\x00\x01" + chunk(header(0x4000) + unreliable(b"") + unreliable(b"\x20\x07")),
        "crash-fragment-counts": b"\x00\x02" + chunk(header(0x4000) + fragment(0, 1, 2, b"\x55" * 100) + fragment(0, 2, 3, b"\x55" * 100)),
        "event-and-tick": b"\x00\x00" + chunk(header(0x4000) + reliable(0x10, b"\x10hi")) + b"\x01\x00\x05",
        "join-leave": b"\x03\x00\x00\x01\x00\x40\x02\x01\x01\x00\x40",
        "direct-event": b"\x00\x01" + chunk(header(0x4000) + reliable(0x10, b"\x11" + u64(3) + b"x")) + b"\x01\x00\x03",
        "states": b"\x05\x00" + chunk(b"\x01" * 16) + b"\x01\x00\x05" + b"\x00\x00" + chunk(header(0x4001, 0xFFFFFFFF) + unreliable(b"\x20" + b"\xff" * 8)),
    },
    "relay-client": {
        # op 0: payload from the server to client 1; op 1: advance; op 2: sample
        "welcome-and-snapshot": b"\x00" + chunk(header(0x4000) + reliable(0x40, relay["peer-joined"])) + b"\x00" + chunk(header(0x4001, 0xFFFFFFFF) + unreliable(snapshot(900, 0xFFFFFFFF, [new_entity(2, 2, b"\x01" * 8)]))) + b"\x02",
        "event-refused": b"\x00" + chunk(header(0x4000) + reliable(0x40, relay["event"]) + reliable(0x41, relay["refused"])) + b"\x01\x05",
        "hostile-time": b"\x00" + chunk(header(0x4000, 0xFFFFFFFF) + unreliable(b"\x30" + u32(5000) + b"\xff" * 8 + u32(0xFFFFFFFF) + u16(0))) + b"\x01\x10\x02",
        "fragments": b"\x00" + chunk(header(0x4000) + fragment(0x40, 0, 2, b"\x01" * FRAG)) + b"\x00" + chunk(header(0x4001) + fragment(0x40, 1, 2, b"\x03" + u64(9))),
    },
}

for vector in sorted(vectors.glob("packet_*.bin")):
    data = vector.read_bytes()
    seeds["netcode-server"][vector.stem] = b"\x01" + data
    seeds["netcode-client"][vector.stem] = b"\x01" + data
for name in ["connect_token.bin", "connect_token_private_plain.bin"]:
    seeds["netcode-server"][name[:-4]] = b"\x00" + (vectors / name).read_bytes()

for target, files in seeds.items():
    folder = root / "Corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / f"seed-{name}").write_bytes(data)
    print(f"{target}: {len(files)} seeds")
