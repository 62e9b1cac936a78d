#!/usr/bin/env python3
"""The endpoint's side of a notify (docs/protocol.md section 2), for the tests.

  notify_responder.py listen --state FILE --port P --to COLLECTOR --log LOG
                             [--mode ack|silent] [--duration S]
      Receives notifies on UDP port P for every endpoint of the agent state
      FILE (they share the address, and the slot tells them apart), checks
      each one as an endpoint must (length, magic, version, type 2, flags
      among SETTINGS/COMPONENTS/VERIFY, its own slot and id, the MAC under
      its key, the time window), logs one line per datagram, and in ack
      mode answers a valid one with a notify-ack (type 3, the same flags,
      its own slot, id and time, its MAC) to COLLECTOR's heartbeat port,
      from the port it listens on.
  notify_responder.py ack --state FILE --index I --to COLLECTOR --flags F
                          [--time-offset S] [--forge]
      Sends one notify-ack as endpoint I would (or with its MAC flipped):
      what a test needs for replayed, unsolicited and forged acks.

Log lines: 'time slot id flags verdict from' (flags in hex; verdict ok or
the first check that failed). Python stdlib and libsodium (hbforge.py).
"""
import argparse
import select
import socket
import struct
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import hbforge  # noqa: E402  (state files, SipHash)

TYPE_NOTIFY = 2
NOTIFY_FLAGS = 0x1C  # SETTINGS | COMPONENTS | VERIFY
WINDOW, SKEW = 300, 30


def check(p, eps_by_slot):
    """(verdict, endpoint, flags, time) of one datagram, as an endpoint checks it."""
    if len(p) != 32:
        return "bad_length", None, 0, 0
    magic, version, typ, flags, slot, t, ep_id = struct.unpack(">IBBHIIQ", p[:24])
    if magic != hbforge.MAGIC:
        return "bad_magic", None, flags, t
    if version != hbforge.VERSION:
        return "bad_version", None, flags, t
    if typ != TYPE_NOTIFY:
        return "bad_type", None, flags, t
    if flags & ~NOTIFY_FLAGS:
        return "bad_flags", None, flags, t
    ep = eps_by_slot.get(slot)
    if ep is None:
        return "unknown_slot", None, flags, t
    if ep[1] != ep_id:
        return "id_mismatch", ep, flags, t
    if hbforge.siphash(ep[3], p[:24]) != p[24:]:
        return "bad_mac", ep, flags, t
    now = int(time.time()) + ep[4]
    if t + WINDOW < now:
        return "too_old", ep, flags, t
    if t > now + SKEW:
        return "too_new", ep, flags, t
    return "ok", ep, flags, t


def ack_payload(ep, flags, time_offset=0, forge=False):
    guid, ep_id, slot, key, offset = ep
    p = hbforge.heartbeat(key, slot, int(time.time()) + offset + time_offset, ep_id,
                          flags=flags, msg_type=hbforge.TYPE_NOTIFY_ACK)
    return p[:24] + bytes(b ^ 0xFF for b in p[24:]) if forge else p


def listen(a):
    eps = hbforge.load_state(a.state)
    by_slot = {ep[2]: ep for ep in eps}
    fam = socket.AF_INET6 if ":" in a.to else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.port))
    end = time.time() + a.duration
    with open(a.log, "a", buffering=1, encoding="ascii") as log:
        while time.time() < end:
            r, _, _ = select.select([s], [], [], 0.2)
            if not r:
                continue
            p, src = s.recvfrom(2048)
            verdict, ep, flags, t = check(p, by_slot)
            slot = ep[2] if ep else -1
            ep_id = f"{ep[1]:016x}" if ep else "-"
            log.write(f"{int(time.time())} {slot} {ep_id} {flags:04x} {verdict} {src[0]}\n")
            if verdict == "ok" and a.mode == "ack":
                s.sendto(ack_payload(ep, flags), (a.to, a.hb_port))
    return 0


def ack(a):
    eps = hbforge.load_state(a.state)
    if not 0 <= a.index < len(eps):
        sys.exit(f"notify_responder: --index {a.index}: {len(eps)} endpoints in {a.state}")
    fam = socket.AF_INET6 if ":" in a.to else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.sendto(ack_payload(eps[a.index], a.flags, a.time_offset, a.forge), (a.to, a.hb_port))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    li = sub.add_parser("listen")
    li.add_argument("--port", type=int, required=True)
    li.add_argument("--log", required=True)
    li.add_argument("--mode", choices=["ack", "silent"], default="ack")
    li.add_argument("--duration", type=float, default=300)
    ak = sub.add_parser("ack")
    ak.add_argument("--index", type=int, default=0)
    ak.add_argument("--flags", type=lambda v: int(v, 0), required=True)
    ak.add_argument("--time-offset", type=int, default=0)
    ak.add_argument("--forge", action="store_true", help="flip the MAC bytes")
    for p in (li, ak):
        p.add_argument("--state", required=True)
        p.add_argument("--to", required=True, help="the collector's heartbeat address")
        p.add_argument("--hb-port", type=int, default=7100)
    a = ap.parse_args()
    hbforge.SODIUM = hbforge.load_sodium()
    return listen(a) if a.cmd == "listen" else ack(a)


if __name__ == "__main__":
    sys.exit(main())
