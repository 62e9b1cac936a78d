#!/usr/bin/env python3
"""Forge heartbeats, good and deliberately bad, for the tests.

Each kind aims at one of the collector's drop reasons (docs/protocol.md section 1),
so a test can send it and check that exactly that reason's counter moved.
With --raw IFACE the heartbeat goes out as a whole Ethernet frame written
here (an AF_PACKET socket), in one of the --frame shapes: VLAN and QinQ tags,
IPv4 options and fragments, IPv6 extension headers, bad or missing checksums
(issue #11), each aimed at one verdict.
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
TYPE_NOTIFY_ACK = 3
FLAG_SHUTDOWN = 1 << 0
FLAG_BOOT = 1 << 1
FLAG_SETTINGS = 1 << 2
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
    "boot": "a valid heartbeat with the BOOT flag",
    "notify-ack": "a valid notify-ack (type 3) with the SETTINGS flag",
}

# --raw frame shapes: what each is, and the verdict a collector gives it.
FRAMES = {
    "plain": ("Ethernet, IP, UDP: as a kernel socket sends it", "accepted"),
    "vlan": ("one 802.1Q tag (VLAN 100)", "accepted"),
    "qinq": ("an 802.1ad S-tag (200) and an 802.1Q C-tag (100)", "accepted"),
    "ip-options": ("IPv4 with 8 bytes of options (NOPs)", "accepted"),
    "ip6-hbh": ("IPv6 hop-by-hop header (router alert) before UDP", "accepted"),
    "ip6-chain": ("IPv6 hop-by-hop, destination options, routing (0 left), atomic fragment",
                  "accepted"),
    "ip6-routed": ("IPv6 routing header with a segment left", "ip6_routed"),
    "ip6-ext-limit": ("five IPv6 extension headers", "ip6_ext_limit"),
    "fragment": ("the first fragment (MF) of the datagram", "ip_fragment"),
    "fragment-later": ("a later fragment (offset 8) of the datagram", "fragment_other"),
    "bad-ip-checksum": ("IPv4 header checksum off by one", "ip_checksum"),
    "bad-udp-checksum": ("UDP checksum off by one", "udp_checksum"),
    "no-udp-checksum": ("UDP checksum 0 (IPv4: none; IPv6: refused)", "accepted / udp_no_checksum"),
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


def heartbeat(key, slot, t, ep_id, magic=MAGIC, version=VERSION, flags=0,
              msg_type=TYPE_HEARTBEAT):
    body = struct.pack(">IBBHIIQ", magic, version, msg_type, flags, slot,
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
    flags = {"shutdown": FLAG_SHUTDOWN, "boot": FLAG_BOOT,
             "notify-ack": FLAG_SETTINGS}.get(kind, 0)
    msg_type = TYPE_NOTIFY_ACK if kind == "notify-ack" else TYPE_HEARTBEAT
    p = heartbeat(key, slot, now, ep_id, magic, version, flags, msg_type)
    if kind == "forged-mac":
        p = p[:24] + bytes(b ^ 0xFF for b in p[24:])
    elif kind == "truncated":
        p = p[:20]
    desc += f" slot={slot} time={now & 0xFFFFFFFF} flags=0x{flags:04x}"
    if magic != MAGIC or version != VERSION:
        desc += f" magic=0x{magic:08x} version={version}"
    return p, desc


def csum(data, init=0):
    """RFC 1071: the checksum to store in a zeroed field over `data`."""
    if len(data) % 2:
        data += b"\0"
    t = init + sum(struct.unpack(f">{len(data) // 2}H", data))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF


def mac_bytes(text):
    b = bytes(int(x, 16) for x in text.split(":"))
    if len(b) != 6:
        raise ValueError(text)
    return b


def frame(shape, payload, src, dst, sport, dport, src_mac, dst_mac):
    """A whole Ethernet frame of `shape` (FRAMES) carrying `payload` over UDP."""
    v6 = ":" in dst
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    sa, da = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
    udp = bytearray(struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload)
    c = csum(bytes(udp), sum(struct.unpack(f">{len(sa + da) // 2}H", sa + da)) + 17 + len(udp))
    c = c or 0xFFFF
    if shape == "bad-udp-checksum":
        c = (c + 1) & 0xFFFF or 1
    if shape != "no-udp-checksum":
        struct.pack_into(">H", udp, 6, c)
    udp = bytes(udp)
    if v6:
        # Each extension header: next header, length 0 (8 bytes), 6 more bytes.
        chain = {
            "ip6-hbh": [(0, bytes([5, 2, 0, 0, 1, 0]))],
            "ip6-chain": [(0, bytes([1, 4, 0, 0, 0, 0])), (60, bytes([1, 4, 0, 0, 0, 0])),
                          (43, bytes([4, 0, 0, 0, 0, 0])), (44, bytes([0, 0, 1, 2, 3, 4]))],
            "ip6-routed": [(43, bytes([4, 1, 0, 0, 0, 0]))],
            "ip6-ext-limit": [(0, bytes([1, 4, 0, 0, 0, 0]))] +
                             [(60, bytes([1, 4, 0, 0, 0, 0]))] * 4,
            "fragment": [(44, bytes([0, 1, 1, 2, 3, 4]))],
            "fragment-later": [(44, bytes([0, 9, 1, 2, 3, 4]))],
        }.get(shape, [])
        ext = b""
        for i, (_, body) in enumerate(chain):
            nxt = chain[i + 1][0] if i + 1 < len(chain) else 17
            ext += bytes([nxt, 0]) + body
        nh = chain[0][0] if chain else 17
        ip = struct.pack(">IHBB", 0x60000000, len(ext) + len(udp), nh, 64) + sa + da + ext + udp
        ethertype = 0x86DD
    else:
        opts = b"\x01" * 8 if shape == "ip-options" else b""
        frag = {"fragment": 0x2000, "fragment-later": 0x0001}.get(shape, 0x4000)
        hdr = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45 + len(opts) // 4, 0,
                                    20 + len(opts) + len(udp), os.getpid() & 0xFFFF, frag,
                                    64, 17, 0, sa, da) + opts)
        hc = csum(bytes(hdr))
        if shape == "bad-ip-checksum":
            hc = (hc + 1) & 0xFFFF
        struct.pack_into(">H", hdr, 10, hc)
        ip = bytes(hdr) + udp
        ethertype = 0x0800
    tags = {"vlan": struct.pack(">HH", 0x8100, 100),
            "qinq": struct.pack(">HHHH", 0x88A8, 200, 0x8100, 100)}.get(shape, b"")
    return dst_mac + src_mac + tags + struct.pack(">H", ethertype) + ip


def send_raw(a, payload):
    """Sends --count frames of the --frame shape on --raw: (sent, errors, length)."""
    with open(f"/sys/class/net/{a.raw}/address", encoding="ascii") as f:
        src_mac = mac_bytes(f.read().strip())
    fr = frame(a.frame, payload, a.src, a.to, a.sport, a.port, src_mac, mac_bytes(a.dst_mac))
    sent = errors = 0
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((a.raw, 0))
        for _ in range(a.count):
            try:
                s.send(fr)
                sent += 1
            except OSError as e:
                errors += 1
                if errors == 1:
                    print(f"hbforge: send: {e.strerror}", file=sys.stderr)
    return sent, errors, len(fr)


def main():
    global SODIUM
    ap = argparse.ArgumentParser(
        description="Send good or deliberately bad glournet heartbeats (tests only).",
        epilog="kinds:\n" + "\n".join(f"  {k:13} {v}" for k, v in KINDS.items()) +
        "\n\n--raw frame shapes (the verdict each should get):\n" +
        "\n".join(f"  {k:17} {v[0]}: {v[1]}" for k, v in FRAMES.items()),
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
    ap.add_argument("--raw", metavar="IFACE",
                    help="send whole Ethernet frames on IFACE (AF_PACKET) instead of a UDP socket")
    ap.add_argument("--frame", default="plain", choices=sorted(FRAMES), metavar="SHAPE",
                    help="with --raw: the frame shape (default plain; see below)")
    ap.add_argument("--src", help="with --raw: the source address (required)")
    ap.add_argument("--sport", type=int, default=50000, help="with --raw: source port (50000)")
    ap.add_argument("--dst-mac", default="ff:ff:ff:ff:ff:ff",
                    help="with --raw: destination MAC (default broadcast)")
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
    if a.raw:
        if not a.src or (":" in a.src) != (":" in a.to):
            ap.error("--raw needs --src, of the same family as --to")
        try:
            mac_bytes(a.dst_mac)
        except ValueError:
            ap.error(f"--dst-mac: '{a.dst_mac}' is not a MAC address")
        sent, errors, flen = send_raw(a, payload)
        print(f"sent {sent} x {a.kind} as {a.frame} frames ({flen} bytes) on {a.raw} to {a.to} "
              f"port {a.port}: {desc}")
        return 1 if errors else 0
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
