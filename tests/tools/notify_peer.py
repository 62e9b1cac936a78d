#!/usr/bin/env python3
"""Play the collector's side of notifies (docs/protocol.md section 2), for the tests.

Sends notifies, good and deliberately bad, from the collector's heartbeat
address and port to endpoints' notify ports, collects their notify-acks
on that same socket, answers their polls on a small fake GET /v1/poll or /v2/poll, and
checks everything against a plan:

  plan (JSON): {"sends": [{"index": I, "kind": KIND, "flags": ["settings", ...],
                           "ack": "now" | "late" | "none", "poll": true | false,
                           "port": P, "gap": SECONDS}, ...]}
  (port: the endpoint's notify port by default; gap: the pause after it)

Each ack must be 32 bytes, type 3, the notify's flags, the endpoint's own
slot and id, a MAC under its key and a time inside [now - 300, now + 30];
"now" acks within --ack-now-max seconds, "late" ones no sooner than
--ack-late-min; "none" means no ack for that notify at all. An endpoint
with a "poll": true send must poll (MAC verified) within --poll-max
seconds of it; one without, never. Prints a JSON report; exit 1 on any
mismatch, naming it. Python stdlib only; the MAC is libsodium's through
hbforge.py.
"""
import argparse
import http.server
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hbforge  # noqa: E402  (state file reader and SipHash binding)

TYPE_HEARTBEAT, TYPE_NOTIFY, TYPE_ACK = 1, 2, 3
FLAGS = {"shutdown": 1, "boot": 2, "settings": 4, "components": 8, "verify": 16}
KINDS = {
    "valid": "a correct notify with the plan's flags",
    "forged-mac": "the MAC bytes flipped",
    "other-key": "MAC'd under another endpoint's key",
    "wrong-id": "the endpoint's slot with the next endpoint's id",
    "unknown-slot": "slot 0xFFFFFF00",
    "stale": "valid MAC, time = now - 400 (a replay from the past)",
    "future": "valid MAC, time = now + 100",
    "reflected-ack": "a valid notify-ack (type 3) sent back to the endpoint",
    "reflected-heartbeat": "a valid heartbeat (type 1) sent back to the endpoint",
    "bad-flags": "the SHUTDOWN flag on a notify",
    "bad-version": "version 2",
    "truncated": "the first 31 bytes",
}


def load_eps(path):
    """[(guid, id, slot, key, notify_port)] from an agent state file or JSON lines."""
    with open(path, encoding="utf-8") as f:
        first = f.read(1)
    if first == "{":
        eps = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    o = json.loads(line)
                    eps.append((o["guid"], int(o["id"], 16), o["slot"], bytes.fromhex(o["key"]),
                                o.get("notify_port", 0)))
        return eps
    eps = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            tok = line.split("#", 1)[0].split()
            if tok:
                eps.append((tok[0], int(tok[1], 16), int(tok[2]), bytes.fromhex(tok[3]),
                            int(tok[5]) if len(tok) > 5 else 0))
    return eps


def frame(key, typ, flags, slot, t, ep_id, version=1):
    body = struct.pack(">IBBHIIQ", hbforge.MAGIC, version, typ, flags, slot, t & 0xFFFFFFFF,
                       ep_id)
    return body + hbforge.siphash(key, body)


def forge(kind, eps, i, flags, now):
    guid, ep_id, slot, key, _ = eps[i]
    other = eps[(i + 1) % len(eps)]
    if kind == "valid":
        return frame(key, TYPE_NOTIFY, flags, slot, now, ep_id)
    if kind == "forged-mac":
        p = frame(key, TYPE_NOTIFY, flags, slot, now, ep_id)
        return p[:24] + bytes(b ^ 0xFF for b in p[24:])
    if kind == "other-key":
        return frame(other[3], TYPE_NOTIFY, flags, slot, now, ep_id)
    if kind == "wrong-id":
        return frame(key, TYPE_NOTIFY, flags, slot, now, other[1])
    if kind == "unknown-slot":
        return frame(key, TYPE_NOTIFY, flags, 0xFFFFFF00, now, ep_id)
    if kind == "stale":
        return frame(key, TYPE_NOTIFY, flags, slot, now - 400, ep_id)
    if kind == "future":
        return frame(key, TYPE_NOTIFY, flags, slot, now + 100, ep_id)
    if kind == "reflected-ack":
        return frame(key, TYPE_ACK, flags, slot, now, ep_id)
    if kind == "reflected-heartbeat":
        return frame(key, TYPE_HEARTBEAT, 0, slot, now, ep_id)
    if kind == "bad-flags":
        return frame(key, TYPE_NOTIFY, flags | FLAGS["shutdown"], slot, now, ep_id)
    if kind == "bad-version":
        return frame(key, TYPE_NOTIFY, flags, slot, now, ep_id, version=2)
    if kind == "truncated":
        return frame(key, TYPE_NOTIFY, flags, slot, now, ep_id)[:31]
    raise ValueError(kind)


class PollHandler(http.server.BaseHTTPRequestHandler):
    """GET /v1/poll and /v2/poll: checks the MAC (GLPOLL, id, time; version 2:
    GLPOL2, id, time, the X-Glournet-Ips value) and answers as glournetd."""
    peer = None

    def do_GET(self):  # noqa: N802 (http.server's name)
        p = self.peer
        if self.path not in ("/v1/poll", "/v2/poll"):
            return self.answer(404, {"error": "no such resource"})
        try:
            ep_id = int(self.headers["X-Glournet-Id"], 16)
            t = int(self.headers["X-Glournet-Time"])
            mac = bytes.fromhex(self.headers["X-Glournet-Mac"])
        except (TypeError, ValueError):
            return self.answer(400, {"error": "headers"})
        ep = p.by_id.get(ep_id)
        if ep is None:
            return self.answer(404, {"error": "unknown endpoint id"})
        if self.path == "/v2/poll":
            ips = (self.headers["X-Glournet-Ips"] or "").encode()
            msg = b"GLPOL2" + struct.pack(">QI", ep_id, t) + ips
        else:
            msg = b"GLPOLL" + struct.pack(">QI", ep_id, t)
        ok = hbforge.siphash(ep[3], msg) == mac and abs(t - int(time.time())) <= 30
        with p.lock:
            p.polls.append({"id": ep_id, "at": time.monotonic(), "mac_ok": ok})
        if not ok:
            return self.answer(401, {"error": "bad MAC"})
        now = int(time.time())
        self.answer(200, {"server_time": now, "settings_rev": 2, "unreachable": False,
                          "heartbeat": {"enabled": True, "interval": 600, "port": 7100,
                                        "addrs": []},
                          "poll": {"enabled": False, "interval": 1800},
                          "settings": {}, "components": []})

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if status == 200:
            self.send_header("ETag", '"r2-r"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Peer:
    def __init__(self, eps):
        self.eps = eps
        self.by_id = {e[1]: e for e in eps}
        self.by_slot = {e[2]: i for i, e in enumerate(eps)}
        self.polls = []
        self.lock = threading.Lock()


def check_ack(peer, p, now):
    """(index, flags) of a valid ack, or (None, why)."""
    if len(p) != 32:
        return None, f"{len(p)} bytes"
    magic, version, typ, flags, slot, t, ep_id = struct.unpack(">IBBHIIQ", p[:24])
    if magic != hbforge.MAGIC or version != 1 or typ != TYPE_ACK:
        return None, f"magic 0x{magic:08x} version {version} type {typ}"
    i = peer.by_slot.get(slot)
    if i is None or peer.eps[i][1] != ep_id:
        return None, f"slot {slot} id {ep_id:016x} is no endpoint's"
    if hbforge.siphash(peer.eps[i][3], p[:24]) != p[24:]:
        return None, f"bad MAC for {peer.eps[i][0]}"
    if not now - 300 <= t <= now + 30:
        return None, f"time {t} outside the window of {now}"
    return (i, flags), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="kinds:\n" + "\n".join(f"  {k:20} {v}"
                                                               for k, v in KINDS.items()),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoints", required=True, help="agent state file or JSON lines")
    ap.add_argument("--bind", required=True, help="the collector's heartbeat address")
    ap.add_argument("--port", type=int, default=7100)
    ap.add_argument("--to", required=True, help="the endpoints' address")
    ap.add_argument("--notify-port", type=int, default=21112,
                    help="for endpoints whose file gives none")
    ap.add_argument("--plan", required=True)
    ap.add_argument("--http", help="ADDR:PORT to answer GET /v1/poll on")
    ap.add_argument("--wait", type=float, default=3.0, help="seconds to collect after sending")
    ap.add_argument("--ack-now-max", type=float, default=1.0)
    ap.add_argument("--ack-late-min", type=float, default=0.0)
    ap.add_argument("--poll-max", type=float, default=3.0)
    ap.add_argument("--gap", type=float, default=0.002, help="seconds between sends")
    a = ap.parse_args()
    hbforge.SODIUM = hbforge.load_sodium()
    eps = load_eps(a.endpoints)
    peer = Peer(eps)
    plan = json.load(open(a.plan, encoding="utf-8"))["sends"]

    server = None
    if a.http:
        host, port = a.http.rsplit(":", 1)
        PollHandler.peer = peer
        host = host.strip("[]")

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

        server = Server((host, int(port)), PollHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    fam = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    s.setblocking(False)
    sent = []  # (plan entry, bytes, time sent)
    for step in plan:
        i = step["index"]
        flags = sum(FLAGS[f] for f in step.get("flags", []))
        p = forge(step["kind"], eps, i, flags, int(time.time()))
        port = step.get("port") or eps[i][4] or a.notify_port
        s.sendto(p, (a.to, port))
        sent.append((step, p, time.monotonic(), flags))
        time.sleep(step.get("gap", a.gap))

    acks, bad = [], []
    end = time.monotonic() + a.wait
    while time.monotonic() < end:
        try:
            p, src = s.recvfrom(2048)
        except BlockingIOError:
            time.sleep(0.005)
            continue
        got, why = check_ack(peer, p, int(time.time()))
        if got is None:
            bad.append(f"from {src[0]} port {src[1]}: {why}: {p.hex()}")
        else:
            acks.append((got, time.monotonic(), src))
    if server:
        server.shutdown()

    errors = list(bad)
    # acks: per (index, flags), the "now" and "late" sends in order
    want = {}
    for step, p, t, flags in sent:
        if step.get("ack", "none") != "none":
            want.setdefault((step["index"], flags), []).append((step["ack"], t))
    got = {}
    for key, t, src in acks:
        got.setdefault(key, []).append(t)
    for key in set(want) | set(got):
        w, g = want.get(key, []), got.get(key, [])
        name = f"{eps[key[0]][0]} flags 0x{key[1]:02x}"
        if len(w) != len(g):
            errors.append(f"{name}: {len(g)} acks, want {len(w)}")
            continue
        for (how, ts), ta in zip(w, sorted(g)):
            d = ta - ts
            if how == "now" and d > a.ack_now_max:
                errors.append(f"{name}: acked after {d:.3f} s, want at once")
            if how == "late" and d < a.ack_late_min:
                errors.append(f"{name}: acked after {d:.3f} s, want >= {a.ack_late_min} s")
    # polls
    first_poll_send = {}
    for step, p, t, flags in sent:
        if step.get("poll"):
            first_poll_send.setdefault(step["index"], t)
    polled = {}
    for q in peer.polls:
        if not q["mac_ok"]:
            errors.append(f"a poll with a bad MAC for id {q['id']:016x}")
        i = next(k for k, e in enumerate(eps) if e[1] == q["id"])
        polled.setdefault(i, []).append(q["at"])
    delays = []
    for i in set(first_poll_send) | set(polled):
        name = eps[i][0]
        if i not in first_poll_send:
            errors.append(f"{name}: polled {len(polled[i])} times, want never")
        elif i not in polled:
            errors.append(f"{name}: never polled, want one within {a.poll_max} s")
        else:
            d = min(polled[i]) - first_poll_send[i]
            delays.append(d)
            if not 0 <= d <= a.poll_max:
                errors.append(f"{name}: polled {d:.3f} s after its notify, "
                              f"want within {a.poll_max} s")
    report = {"sent": len(sent), "acks": len(acks), "bad_acks": len(bad),
              "polls": len(peer.polls), "endpoints_polled": len(polled),
              "poll_delay_min_s": round(min(delays), 3) if delays else None,
              "poll_delay_max_s": round(max(delays), 3) if delays else None,
              "errors": errors}
    print(json.dumps(report))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
