#!/usr/bin/env python3
"""Responsiveness probe for bench/scale/run.sh (issue #5: long work never keeps
the control socket or HTTP from answering for more than ~10 ms).

Every INTERVAL seconds: one `show status` over the control socket (a kept
connection) and one HTTP request (GET /v1/poll without headers: a 400
answered by the control thread, no store involved). Runs until SIGTERM or
--seconds, then prints one JSON line: count, max and p99 of each, in ms.
"""
import argparse, json, signal, socket, sys, time, http.client

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--sock", required=True)
ap.add_argument("--http", required=True, help="HOST:PORT")
ap.add_argument("--interval", type=float, default=0.05)
ap.add_argument("--seconds", type=float, default=3600)
a = ap.parse_args()

stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)

ctl_ms, http_ms, errors = [], [], 0
ctl = None
host, port = a.http.rsplit(":", 1)
conn = None
end = time.monotonic() + a.seconds
while not stop and time.monotonic() < end:
    try:
        if ctl is None:
            ctl = socket.socket(socket.AF_UNIX)
            ctl.settimeout(30)
            ctl.connect(a.sock)
            rf = ctl.makefile("rb")
        t0 = time.monotonic()
        ctl.sendall(b'{"argv": ["show", "status"]}\n')
        line = rf.readline()
        if not line or not json.loads(line).get("ok"):
            raise OSError("bad answer")
        ctl_ms.append((time.monotonic() - t0) * 1e3)
    except (OSError, ValueError):
        errors += 1
        ctl = None
    try:
        if conn is None:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
        t0 = time.monotonic()
        conn.request("GET", "/v1/poll")
        r = conn.getresponse()
        r.read()
        http_ms.append((time.monotonic() - t0) * 1e3)
    except (OSError, http.client.HTTPException):
        errors += 1
        conn = None
    time.sleep(a.interval)

def summary(v):
    if not v:
        return {"n": 0}
    s = sorted(v)
    return {"n": len(s), "max_ms": round(s[-1], 2), "p99_ms": round(s[int(len(s) * 0.99) - 1 if len(s) > 1 else 0], 2),
            "median_ms": round(s[len(s) // 2], 2)}
print(json.dumps({"ctl": summary(ctl_ms), "http": summary(http_ms), "errors": errors}))
