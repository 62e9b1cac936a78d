#!/usr/bin/env python3
"""Forge heartbeats, good and deliberately bad, for the tests.

Each kind aims at one of the collector's drop reasons (docs/protocol.md section 1),
so a test can send it and check that exactly that reason's counter moved.
Keys, ids and slots come from the state file written by
`glournet-agent register`. Python stdlib only; the MAC is libsodium's
crypto_shorthash_siphash24 through ctypes, the same function the C side uses.
"""
import argparse
import ctypes
import ctypes.util
import os
import socket
import struct
import sys
import time

MAGIC = 0x474C4842
VERSION = 1
TYPE_HEARTBEAT = 1
FLAG_SHUTDOWN = 1 << 0
UNKNOWN_SLOT = 0xFFFFFF00
SKEW = 100000  # far outside any acceptance window

KINDS = {
    "valid": "a correct heartbeat, time = now + clock offset",
    "forged-mac": "correct fields, MAC bytes flipped",
    "wrong-slot": "the endpoint's id with the next state line's slot (else 0xFFFFFF00)",
    "unknown-slot": "slot 0xFFFFFF00",
    "stale": "valid MAC, time = now + offset - 100000",
    "future": "valid MAC, time = now + offset + 100000",
    "truncated": "the first 20 bytes of a valid heartbeat",
    "garbage": "32 random bytes (never the right magic)",
    "bad-magic": "magic 'GLHC', valid MAC",
    "bad-version": "version 2, valid MAC",
    "shutdown": "a valid heartbeat with the SHUTDOWN flag",
}


def load_sodium():
    for name in ("libsodium.so.23", ctypes.util.find_library("sodium")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if lib.sodium_init() < 0:
            sys.exit("hbforge: sodium_init failed")
        lib.crypto_shorthash_siphash24.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p]
        return lib
    sys.exit("hbforge: cannot load libsodium (libsodium.so.23)")


SODIUM = None


def siphash(key, msg):
    out = ctypes.create_string_buffer(8)
    SODIUM.crypto_shorthash_siphash24(out, msg, len(msg), key)
    return out.raw


def load_state(path):
    """[(guid, id, slot, key, clock_offset)] in file order, as agent_state.c reads it
    (a sixth column, the notify_port, is read by agent_state.c and ignored here)."""
    eps = []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        sys.exit(f"hbforge: cannot open state file {path}: {e.strerror}")
    with f:
        for lineno, line in enumerate(f, 1):
            tok = line.split("#", 1)[0].split()
            if not tok:
                continue
            try:
                if len(tok) not in (4, 5, 6) or len(tok[1]) != 16 or len(tok[3]) != 32:
                    raise ValueError
                ep = (tok[0], int(tok[1], 16), int(tok[2]), bytes.fromhex(tok[3]),
                      int(tok[4]) if len(tok) >= 5 else 0)
                if not 0 <= ep[2] <= 0xFFFFFFFF:
                    raise ValueError
            except ValueError:
                sys.exit(f"hbforge: {path}:{lineno}: "
                         "expected 'guid id slot key clock_offset [notify_port]'")
            eps.append(ep)
    return eps


def heartbeat(key, slot, t, ep_id, magic=MAGIC, version=VERSION, flags=0):
    body = struct.pack(">IBBHIIQ", magic, version, TYPE_HEARTBEAT, flags, slot,
                       t & 0xFFFFFFFF, ep_id)
    return body + siphash(key, body)


def forge(kind, eps, index, extra_offset):
    """(payload, description) for one kind aimed at endpoint `index`."""
    guid, ep_id, slot, key, offset = eps[index]
    now = int(time.time()) + offset + extra_offset
    desc = f"{guid} id={ep_id:016x}"
    if kind == "garbage":
        while True:
            p = os.urandom(32)
            if p[:4] != struct.pack(">I", MAGIC):
                return p, "random bytes"
    if kind == "wrong-slot":
        slot = eps[index + 1][2] if index + 1 < len(eps) else UNKNOWN_SLOT
    elif kind == "unknown-slot":
        slot = UNKNOWN_SLOT
    elif kind == "stale":
        now -= SKEW
    elif kind == "future":
        now += SKEW
    magic = MAGIC + 1 if kind == "bad-magic" else MAGIC
    version = 2 if kind == "bad-version" else VERSION
    flags = FLAG_SHUTDOWN if kind == "shutdown" else 0
    p = heartbeat(key, slot, now, ep_id, magic, version, flags)
    if kind == "forged-mac":
        p = p[:24] + bytes(b ^ 0xFF for b in p[24:])
    elif kind == "truncated":
        p = p[:20]
    desc += f" slot={slot} time={now & 0xFFFFFFFF} flags=0x{flags:04x}"
    if magic != MAGIC or version != VERSION:
        desc += f" magic=0x{magic:08x} version={version}"
    return p, desc


def main():
    global SODIUM
    ap = argparse.ArgumentParser(
        description="Send good or deliberately bad glournet heartbeats (tests only).",
        epilog="kinds:\n" + "\n".join(f"  {k:13} {v}" for k, v in KINDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state", required=True, help="state file of glournet-agent register")
    ap.add_argument("--to", required=True, help="collector IPv4 or IPv6 address")
    ap.add_argument("--port", type=int, default=7100, help="UDP port (default 7100)")
    ap.add_argument("--kind", required=True, choices=sorted(KINDS), metavar="KIND",
                    help="what to send (see below)")
    ap.add_argument("--count", type=int, default=1, help="copies to send (default 1)")
    ap.add_argument("--index", type=int, default=0,
                    help="state-file endpoint to impersonate (default 0)")
    ap.add_argument("--time-offset", type=int, default=0,
                    help="seconds added to the time field (default 0)")
    a = ap.parse_args()
    if not 1 <= a.port <= 65535:
        ap.error(f"--port: {a.port} is out of range [1, 65535]")
    if not 1 <= a.count <= 10000000:
        ap.error(f"--count: {a.count} is out of range [1, 10000000]")
    try:
        ai = socket.getaddrinfo(a.to, a.port, type=socket.SOCK_DGRAM,
                                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)[0]
    except socket.gaierror:
        ap.error(f"--to: '{a.to}' is not an IPv4 or IPv6 address")
    eps = load_state(a.state)
    if not 0 <= a.index < len(eps):
        ap.error(f"--index: {a.index} is not an endpoint of {a.state} ({len(eps)} endpoints)")
    SODIUM = load_sodium()

    payload, desc = forge(a.kind, eps, a.index, a.time_offset)
    sent = errors = 0
    with socket.socket(ai[0], socket.SOCK_DGRAM) as s:
        for _ in range(a.count):
            try:
                s.sendto(payload, ai[4])
                sent += 1
            except OSError as e:
                errors += 1
                if errors == 1:
                    print(f"hbforge: send: {e.strerror}", file=sys.stderr)
    print(f"sent {sent} x {a.kind} ({len(payload)} bytes) to {a.to} port {a.port}: {desc}: "
          f"{payload.hex()}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
