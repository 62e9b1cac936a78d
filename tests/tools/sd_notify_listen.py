#!/usr/bin/env python3
"""A stand-in for systemd's notify socket: runs a command with NOTIFY_SOCKET
pointing at a datagram socket made here (and the rest of the environment it
is given), and prints each message received as one JSON line
{"t": seconds since the start, "msg": {...}}; with --term-after WORD, sends
SIGTERM to the command once a message carrying WORD=... has been seen N
times (--count). Ends with {"exit": CODE} when the command exits.

  sd_notify_listen.py [--term-after WATCHDOG --count 2] [--timeout S]
                      [--ready-connect CTL_SOCKET] -- CMD...
"""
import argparse, json, os, signal, socket, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--term-after", default=None)
ap.add_argument("--count", type=int, default=1)
ap.add_argument("--timeout", type=float, default=60)
ap.add_argument("--ready-connect", default=None,
                help="at READY=1, connect to this unix stream socket and say whether it answered")
ap.add_argument("cmd", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

d = tempfile.mkdtemp(prefix="gn-ops-notify.")
path = os.path.join(d, "notify.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
env = dict(os.environ, NOTIFY_SOCKET=path)
t0 = time.monotonic()
p = subprocess.Popen(cmd, env=env)
print(json.dumps({"pid": p.pid}), flush=True)
seen, termed = 0, False
try:
    while True:
        if time.monotonic() - t0 > a.timeout:
            print(json.dumps({"timeout": a.timeout}), flush=True)
            p.kill()
            break
        try:
            data = s.recv(4096)
        except socket.timeout:
            if p.poll() is not None:
                break
            continue
        msg = dict(l.split("=", 1) for l in data.decode().splitlines() if "=" in l)
        print(json.dumps({"t": round(time.monotonic() - t0, 3), "msg": msg}), flush=True)
        if "READY" in msg and a.ready_connect:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.connect(a.ready_connect)
                ok = True
            except OSError:
                ok = False
            c.close()
            print(json.dumps({"ready_connect": ok}), flush=True)
        if a.term_after and a.term_after in msg:
            seen += 1
            if seen >= a.count and not termed:
                p.send_signal(signal.SIGTERM)
                termed = True
    # what arrives while it stops
    s.settimeout(0.5)
    rc = p.wait()
    while True:
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        msg = dict(l.split("=", 1) for l in data.decode().splitlines() if "=" in l)
        print(json.dumps({"t": round(time.monotonic() - t0, 3), "msg": msg}), flush=True)
    print(json.dumps({"exit": rc}), flush=True)
finally:
    s.close()
    os.unlink(path)
    os.rmdir(d)
