#!/usr/bin/env python3
"""A slowloris client for the HTTP API tests, bounded in count and time.

Keeps up to --conns connections open to --dst:--port from the --src
addresses (round robin), each sending a request line and then one more
header byte every --period seconds, never finishing the header. A
connection the server closes is opened again, up to --max-attempts in all,
until --seconds have passed; then everything is closed.

Prints one JSON object: attempts, refused (closed within --refused-within
seconds of opening: the server would not take it), closed_later (closed
by the server after that), max_held (connections open longer than
--refused-within at once), and the lifetimes of the closed_later ones.
Loopback or addresses in a test namespace only.
"""
import argparse
import errno
import json
import selectors
import socket
import struct
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--src", required=True, help="comma-separated source addresses")
    ap.add_argument("--conns", type=int, default=1100)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--max-attempts", type=int, default=20000)
    ap.add_argument("--period", type=float, default=1.0)
    ap.add_argument("--refused-within", type=float, default=2.0)
    ap.add_argument("--open-per-tick", type=int, default=200)
    ap.add_argument("--reopen-rate", type=float, default=200)
    ap.add_argument("--path", default="/v1/poll")
    a = ap.parse_args()
    assert a.conns <= 5000 and a.seconds <= 120 and a.max_attempts <= 50000

    srcs = a.src.split(",")
    family = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    head = f"GET {a.path} HTTP/1.1\r\nHost: glournet\r\nX-Slow: ".encode()
    sel = selectors.DefaultSelector()
    conns = {}   # socket -> [opened_at, next_byte_at, head_sent]
    st = {"attempts": 0, "refused": 0, "closed_later": 0, "max_held": 0,
          "connect_errors": 0, "lifetimes": []}
    t_start = time.monotonic()
    t_end = t_start + a.seconds

    def open_one():
        src = srcs[st["attempts"] % len(srcs)]
        st["attempts"] += 1
        s = socket.socket(family, socket.SOCK_STREAM)
        # Closed with a reset: no TIME_WAIT left on the client's side.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.bind((src, 0))
        s.setblocking(False)
        rc = s.connect_ex((a.dst, a.port))
        if rc not in (0, errno.EINPROGRESS):
            st["connect_errors"] += 1
            s.close()
            return
        now = time.monotonic()
        conns[s] = [now, now, False]
        sel.register(s, selectors.EVENT_READ)

    def gone(s, now):
        opened = conns.pop(s)[0]
        sel.unregister(s)
        s.close()
        life = now - opened
        if life < a.refused_within:
            st["refused"] += 1
        else:
            st["closed_later"] += 1
            st["lifetimes"].append(round(life, 2))

    while time.monotonic() < t_end:
        n = 0
        budget = min(a.max_attempts, a.conns + a.reopen_rate * (time.monotonic() - t_start))
        while len(conns) < a.conns and st["attempts"] < budget and n < a.open_per_tick:
            open_one()
            n += 1
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:   # closed or reset by the server (an answer is data: kept)
                gone(s, time.monotonic())
        now = time.monotonic()
        for s, c in list(conns.items()):
            if now < c[1]:
                continue
            c[1] = now + a.period
            try:
                s.send(b"a" if c[2] else head)
                c[2] = True
            except BlockingIOError:
                pass
            except OSError:
                gone(s, now)
        held = sum(1 for c in conns.values() if now - c[0] >= a.refused_within)
        st["max_held"] = max(st["max_held"], held)
    for s in list(conns):
        sel.unregister(s)
        s.close()
    st["open_at_end"] = len(conns)
    lt = st.pop("lifetimes")
    st["lifetime_min"] = min(lt) if lt else None
    st["lifetime_max"] = max(lt) if lt else None
    print(json.dumps(st))


if __name__ == "__main__":
    main()
