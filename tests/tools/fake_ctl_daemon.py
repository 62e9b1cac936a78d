#!/usr/bin/env python3
"""A stand-in for glournetd's control socket, so glournetctl can be tested
without DPDK, hugepages or a running collector.

    fake_ctl_daemon.py SOCKETPATH [--lifetime SEC]

Speaks the protocol of docs/control-socket.md (one JSON line per request and
per response, several requests per connection, longest command match) with
canned answers for `help`, `show status`, `show client` (id
00000000000000aa / guid g-1 is known, anything else is an error) and
`show stats` (2 workers), and `watch [--from SEQ]`, which streams canned
transition events (see WATCH_* below). Prints "ready" on stdout once it accepts
connections; exits after --lifetime seconds (default 30) or on SIGTERM /
SIGINT, removing the socket.

Commands under `debug ...` (not listed by `help`) misbehave on purpose, to
test the client's error paths:
    debug slow SEC     answer after SEC seconds
    debug garbage      answer a line that is not JSON
    debug noresult     answer {"ok": true} without "result"
    debug close        close the connection without answering
    debug chunked      answer in small pieces, slowly (partial reads)
    debug big KIB      answer a result of about KIB kibibytes
    debug huge         answer more than 16 MiB without a newline
    debug nested       answer a nested result for the generic renderer
    debug scalar       answer a bare string as the result
"""

import json
import os
import signal
import socketserver
import stat
import sys
import threading
import time

LINE_MAX = 64 * 1024
STARTED = int(time.time()) - 3725
DROP_REASONS = [
    "frame_short", "not_ip", "ip_bad", "ip_checksum", "ip6_ext_limit", "ip6_routed",
    "fragment_other", "not_udp", "not_our_port", "ip_fragment", "bad_length",
    "udp_checksum", "udp_no_checksum", "bad_magic", "bad_version", "bad_type",
    "bad_flags", "unknown_slot", "id_mismatch", "bad_mac", "too_old", "too_new",
]


class CommandError(Exception):
    """A failure the daemon reports as {"ok": false, "error": ...}."""


class Stream(Exception):
    """The answer opens a stream: send `first`, then each (delay, line),
    then keep the connection open `hold` seconds and close it."""

    def __init__(self, first, lines, hold):
        super().__init__("stream")
        self.first = first
        self.lines = lines
        self.hold = hold


class RawReply(Exception):
    """Bypasses the JSON framing: send these bytes (None: just close)."""

    def __init__(self, data, delay=0.0):
        super().__init__("raw reply")
        self.data = data
        self.delay = delay


def cmd_help(args):
    return {"commands": [
        {"name": name, "args": spec[1], "help": spec[2]}
        for name, spec in COMMANDS.items() if not name.startswith("debug")
    ]}


def cmd_show_status(args):
    now = int(time.time())
    return {
        "clients": 3, "online": 1, "offline": 1,
        "unreachable_online": 1, "unreachable_offline": 0,
        "now": now, "started": STARTED, "offline_after": 1800,
        "workers": 2,
    }


def known_client():
    now = int(time.time())
    return {
        "id": "00000000000000aa", "guid": "g-1", "slot": 0,
        "status": "unreachable/online", "unreachable": True,
        "last_heartbeat": now - 42, "last_poll": 0,
        "last_contact": now - 42, "registered": STARTED - 86400,
        "reason": "heartbeat", "hostname": "pos-0042.example.net",
        "ips": ["10.20.0.42", "fd00::42"], "notify_port": 7101,
    }


def cmd_show_client(args):
    if len(args) != 1:
        raise CommandError("show client: expected <id or guid>")
    client = known_client()
    if args[0] not in (client["id"], client["guid"]):
        raise CommandError(
            f"show client: no client with id or guid '{args[0]}'")
    return client


def worker_stats(index, rx):
    dropped = {reason: 0 for reason in DROP_REASONS}
    dropped["bad_mac"] = 3 + index
    dropped["not_our_port"] = 120 * (index + 1)
    dropped["too_old"] = index
    accepted = rx - sum(dropped.values())
    return {"worker": index, "lcore": index + 1, "queue": index,
            "rx": rx, "accepted": accepted, "dropped": dropped}


def cmd_show_stats(args):
    workers = [worker_stats(0, 1048576), worker_stats(1, 987)]
    total = {
        "rx": sum(w["rx"] for w in workers),
        "accepted": sum(w["accepted"] for w in workers),
        "dropped": {r: sum(w["dropped"][r] for w in workers)
                    for r in DROP_REASONS},
    }
    http = {"requests": 5120, "register": 3, "poll": 5000, "event": 117,
            "bad_request": 2, "unauthorized": 0}
    return {"workers": workers, "total": total, "http": http}


# The fake feed holds events 5..9 (next 10). A watcher then gets 10 and
# 11 live, a missed notice for 12..14 (as if it had read too slowly), 15,
# a pause longer than a short --timeout, 16 and 17; the connection stays
# open WATCH_HOLD seconds more and then closes.
WATCH_T = 1795000000
WATCH_HOLD = 2.0


def status_event(seq, ident, guid, old, new, reason):
    return {"seq": seq, "time": WATCH_T + seq, "id": ident, "guid": guid,
            "old": old, "new": new, "reason": reason}


def guard_event(seq, kind, count):
    return {"seq": seq, "time": WATCH_T + seq, "kind": kind, "count": count}


WATCH_HELD = [
    status_event(5, "00000000000000aa", "g-1", "online", "offline",
                 "no-contact"),
    status_event(6, "00000000000000bb", "g-2", "unreachable/offline",
                 "unreachable/online", "poll"),
    guard_event(7, "guard-raised", 120),
    guard_event(8, "guard-released", 120),
    status_event(9, "00000000000000cc", "", "offline", "online",
                 "registered"),
]
WATCH_LIVE = [
    (0.05, {"event": status_event(10, "00000000000000aa", "g-1", "offline",
                                  "online", "heartbeat")}),
    (0.05, {"event": status_event(11, "00000000000000aa", "g-1", "online",
                                  "offline", "shutdown")}),
    (0.05, {"missed": 3, "resume": 15}),
    (0.05, {"event": guard_event(15, "guard-raised", 42)}),
    (0.5, {"event": status_event(16, "00000000000000bb", "g-2",
                                 "unreachable/online", "unreachable/offline",
                                 "no-contact")}),
    (0.05, {"event": guard_event(17, "guard-released", 42)}),
]


def cmd_watch(args):
    oldest, nxt = WATCH_HELD[0]["seq"], WATCH_HELD[-1]["seq"] + 1
    if not args:
        cursor = nxt
    elif len(args) == 2 and args[0] == "--from" and args[1].isdigit():
        cursor = max(int(args[1]), 1)
    else:
        raise CommandError("usage: watch [--from SEQ]")
    if cursor > nxt:
        raise CommandError(f"watch: --from {cursor} is past the next event "
                           f"{nxt} (was glournetd restarted?)")
    lines = []
    if cursor < oldest:
        lines.append((0, {"missed": oldest - cursor, "resume": oldest}))
        cursor = oldest
    lines += [(0, {"event": e}) for e in WATCH_HELD if e["seq"] >= cursor]
    first = {"ok": True, "result": {"watching": True, "next": nxt,
                                    "oldest": oldest}}
    raise Stream(first, lines + WATCH_LIVE, WATCH_HOLD)


def arg_number(args, what):
    try:
        return float(args[0])
    except (IndexError, ValueError):
        raise CommandError(f"{what}: expected a number") from None


def cmd_debug_slow(args):
    time.sleep(arg_number(args, "debug slow"))
    return {"slept": args[0]}


def cmd_debug_garbage(args):
    raise RawReply(b"this is not json\n")


def cmd_debug_noresult(args):
    raise RawReply(b'{"ok": true}\n')


def cmd_debug_close(args):
    raise RawReply(None)


def cmd_debug_chunked(args):
    raise RawReply(encode({"ok": True, "result": cmd_show_status([])}),
                   delay=0.01)


def cmd_debug_big(args):
    kib = int(arg_number(args, "debug big"))
    return {"items": [{"n": i, "pad": "x" * 1000} for i in range(kib)]}


def cmd_debug_huge(args):
    raise RawReply(b'{"ok": true, "result": "' + b"x" * (17 << 20))


def cmd_debug_nested(args):
    return {
        "name": "fake", "version": 1, "ratio": 0.5, "enabled": False,
        "nothing": None, "tags": ["a", "b"], "empty": [],
        "limits": {"slots": 1000000, "rate": 250000,
                   "deep": {"x": 1, "y": "two"}},
        "peers": [{"host": "a", "port": 1}, {"host": "bb", "up": True},
                  {"port": 30000, "extra": {"k": "v"}}],
    }


def cmd_debug_scalar(args):
    return "just a string"


# name: (handler, args, help); help lists them in this order.
COMMANDS = {
    "help": (cmd_help, "", "list the commands"),
    "show status": (cmd_show_status, "", "collector overview"),
    "show client": (cmd_show_client, "<id or guid>", "one client's state"),
    "show stats": (cmd_show_stats, "", "per-worker packet counters"),
    "watch": (cmd_watch, "[--from SEQ]", "follow status transitions live"),
    "debug slow": (cmd_debug_slow, "<sec>", ""),
    "debug garbage": (cmd_debug_garbage, "", ""),
    "debug noresult": (cmd_debug_noresult, "", ""),
    "debug close": (cmd_debug_close, "", ""),
    "debug chunked": (cmd_debug_chunked, "", ""),
    "debug big": (cmd_debug_big, "<kib>", ""),
    "debug huge": (cmd_debug_huge, "", ""),
    "debug nested": (cmd_debug_nested, "", ""),
    "debug scalar": (cmd_debug_scalar, "", ""),
}


def encode(response):
    return (json.dumps(response, separators=(",", ":")) + "\n").encode()


def dispatch(argv):
    """Longest command made of the leading words, like the daemon."""
    for n in range(len(argv), 0, -1):
        spec = COMMANDS.get(" ".join(argv[:n]))
        if spec:
            return spec[0](argv[n:])
    raise CommandError(f"unknown command '{' '.join(argv)}'"
                       if argv else "empty command")


def answer(line):
    try:
        request = json.loads(line)
        argv = request["argv"]
        if not isinstance(argv, list) or \
                not all(isinstance(a, str) for a in argv):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return encode({"ok": False, "error": "bad request"})
    try:
        return encode({"ok": True, "result": dispatch(argv)})
    except CommandError as e:
        return encode({"ok": False, "error": str(e)})


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline(LINE_MAX + 1)
            if not line:
                return
            if len(line) > LINE_MAX or not line.endswith(b"\n"):
                self.wfile.write(encode(
                    {"ok": False, "error": "request line too long"}))
                return
            try:
                self.wfile.write(answer(line))
            except RawReply as raw:
                self.send_raw(raw)
                return
            except Stream as stream:
                self.send_stream(stream)
                return

    def send_stream(self, stream):
        """Like the daemon, reads nothing more: a watch is one-way."""
        self.wfile.write(encode(stream.first))
        for delay, obj in stream.lines:
            time.sleep(delay)
            self.wfile.write(encode(obj))
        time.sleep(stream.hold)

    def send_raw(self, raw):
        if raw.data is None:
            return
        if not raw.delay:
            self.wfile.write(raw.data)
            return
        for i in range(0, len(raw.data), 7):
            self.wfile.write(raw.data[i:i + 7])
            self.wfile.flush()
            time.sleep(raw.delay)


class Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up early is not our concern


def remove_stale_socket(path):
    """Only ever a socket: a typo must not cost someone a file."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def main():
    args = sys.argv[1:]
    lifetime = 30.0
    if len(args) == 3 and args[1] == "--lifetime":
        lifetime = float(args[2])
        args = args[:1]
    if len(args) != 1:
        sys.exit("usage: fake_ctl_daemon.py SOCKETPATH [--lifetime SEC]")
    path = args[0]
    remove_stale_socket(path)
    server = Server(path, Handler)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(lifetime, stop)
    timer.daemon = True
    timer.start()
    print("ready", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        remove_stale_socket(path)


if __name__ == "__main__":
    main()
