#!/usr/bin/env python3
"""Calls glournet's authenticated endpoint API (GET /v1/poll, POST /v1/event,
or with --v2 GET /v2/poll, POST /v2/event) for one endpoint of an agent state
file, for the integration tests.

  glapi.py --state FILE [--index I] --server URL [--v2] poll [--ips A,B] [--etag E]
  glapi.py --state FILE [--index I] --server URL [--v2] event TYPE

Prints 'STATUS ETAG' then the body; exit 0 whatever the HTTP status.
The MAC is SipHash-2-4 (libsodium, as hbforge.py) over CONTEXT|id|time, and
for version 2 the X-Glournet-Ips value or the body after them. Each call
signs in a second of its own (it waits for the next one to begin): the
server refuses a second request of a kind with the same id and time.
"""
import argparse
import struct
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import hbforge  # noqa: E402  (the state file reader and SipHash binding)


def headers(ep, context, content=b""):
    guid, ep_id, slot, key, offset = ep
    time.sleep(1 - time.time() % 1)
    t = int(time.time()) + offset
    mac = hbforge.siphash(key, context + struct.pack(">QI", ep_id, t) + content)
    return {"X-Glournet-Id": f"{ep_id:016x}", "X-Glournet-Time": str(t),
            "X-Glournet-Mac": mac.hex()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--server", required=True)
    ap.add_argument("call", choices=["poll", "event"])
    ap.add_argument("type", nargs="?")
    ap.add_argument("--ips")
    ap.add_argument("--etag")
    ap.add_argument("--v2", action="store_true")
    a = ap.parse_args()
    hbforge.SODIUM = hbforge.load_sodium()
    ep = hbforge.load_state(a.state)[a.index]
    if a.call == "poll":
        ips = (a.ips or "").encode()
        h = headers(ep, b"GLPOL2", ips) if a.v2 else headers(ep, b"GLPOLL")
        if a.ips:
            h["X-Glournet-Ips"] = a.ips
        if a.etag:
            h["If-None-Match"] = a.etag
        path = "/v2/poll" if a.v2 else "/v1/poll"
        req = urllib.request.Request(a.server + path, headers=h)
    else:
        body = ('{"type": "%s"}' % a.type).encode()
        h = headers(ep, b"GLEVN2", body) if a.v2 else headers(ep, b"GLEVNT")
        h["Content-Type"] = "application/json"
        path = "/v2/event" if a.v2 else "/v1/event"
        req = urllib.request.Request(a.server + path, data=body, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, etag, body = r.status, r.headers.get("ETag", "-"), r.read().decode()
    except urllib.error.HTTPError as e:
        status, etag, body = e.code, e.headers.get("ETag", "-"), e.read().decode()
    print(status, etag)
    print(body)


if __name__ == "__main__":
    main()
