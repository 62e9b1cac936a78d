#!/usr/bin/env python3
"""A stand-in for glournetd's control socket, so glournetctl can be tested
without DPDK, hugepages or a running collector.

    fake_ctl_daemon.py SOCKETPATH [--lifetime SEC]

Speaks the protocol of docs/control-socket.md (one JSON line per request and
per response, several requests per connection, longest command match) with
canned answers for `help`, `show status`, `show client` (id
00000000000000aa / guid g-1 is known, anything else is an error) and
`show stats` (2 workers), `show cluster` (a collector on PostgreSQL whose
primary has one synchronous standby; `show cluster --no-standby`: none), and `watch [--from SEQ]`, which streams canned
transition events (see WATCH_* below). Prints "ready" on stdout once it accepts
connections; exits after --lifetime seconds (default 30) or on SIGTERM /
SIGINT, removing the socket.

Issue 14, as glournetd answers them: errors carry a "code" (usage,
denied, read-only, confirm, error); `help [WORDS]` lists flags and options;
`show clients [--status S] [--limit N]` and `show counts` stream (a
head, a line per client of CLIENTS, a last {"done"} line); `remove client`
asks to confirm when the request says "force": false, takes --dry-run
and --missing-ok, and by filter streams its removals; `guard release`
asks to confirm; `import`/`export` start a run that `show bulk` reports
running for two polls, then done. Every request is logged as a JSON line
to SOCKETPATH.log, so tests see what glournetctl sent.

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
    debug denied       answer an error of code "denied"
    debug readonly     answer an error of code "read-only"
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
    """A failure the daemon reports as {"ok": false, "error": ..., "code"}:
    "usage" for a message that starts with "usage:", else "error"."""

    def __init__(self, message, code=None, extra=None):
        super().__init__(message)
        self.code = code or ("usage" if message.startswith("usage:")
                             else "error")
        self.extra = extra or {}


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
    listed = [name for name in COMMANDS if not name.startswith("debug")]
    if args:
        listed = [n for n in listed if n.split()[:len(args)] == args]
        if not listed:
            raise CommandError(f"usage: help: no command starts with "
                               f"'{' '.join(args)}' (try 'help')")
    out = []
    for name in listed:
        spec = COMMANDS[name]
        flags = FLAGS.get(name, ["read"])
        opts = [dict(o) for o in OPTIONS.get(name, [])]
        if "confirm" in flags:
            opts.append({"name": "--force", "help": "do it without asking"})
        entry = {"name": name, "args": spec[1], "help": spec[2],
                 "flags": flags, "options": opts}
        if name == "set":
            entry["complete"] = SETTINGS
        out.append(entry)
    return {"commands": out}


def cmd_show_status(args):
    now = int(time.time())
    return {
        "clients": 3, "online": 1, "offline": 1,
        "unreachable_online": 1, "unreachable_offline": 0,
        "now": now, "started": STARTED, "offline_after": 1800,
        "workers": 2, "table_bytes": 671088640,
        "guard": {"active": True, "since": now - 90, "held": 120},
        "store": {"ok": True, "alarm": "", "queue_len": 0},
        "version": "0.1.0", "uptime": now - STARTED,
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
    store = {"ok": True, "alarm": "", "queue_len": 0}
    return {"workers": workers, "total": total, "http": http, "store": store}


def cmd_show_cluster(args):
    """As control/ctl_cluster.c answers on PostgreSQL."""
    standby = {"name": "pgautofailover_standby_2", "client": "127.0.0.1",
               "state": "streaming", "sync_state": "sync",
               "lag_bytes": 1024, "lag_s": 0.012}
    return {"cluster": True, "name": "cl-a", "deciding": True, "epoch": 3,
            "lease_ms": 3000, "lease_age_s": 0.5, "view_age_s": 0.4,
            "took": 1, "lost": 0,
            "decider": {"holder": "cl-a", "epoch": 3, "expires_in_s": 2.4},
            "collectors": [
                {"name": "cl-a", "addrs": "10.9.0.1", "seen_ago_s": 0.4,
                 "decides": True},
                {"name": "cl-b", "addrs": "10.9.1.1", "seen_ago_s": 0.9,
                 "decides": False}],
            "primary": "127.0.0.1:25432",
            "replication": [] if "--no-standby" in args else [standby],
            "store_url": "postgresql://gn@127.0.0.1:25432,127.0.0.1:25433/glournet",
            "feed": {"batches_sent": 0, "contacts_sent": 0, "batches_read": 12,
                     "contacts_read": 340, "errors": 0, "lag_s": 0.3,
                     "live_peers": 1}}


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


STATUSES = ["online", "offline", "unreachable/online", "unreachable/offline"]
SETTINGS = ["heartbeat.enabled", "heartbeat.interval", "heartbeat.offline_after",
            "poll.interval"]
FILTER_OPTS = [
    {"name": "--status", "value": "STATUS[,STATUS]", "choices": STATUSES,
     "help": "with one of these statuses"},
    {"name": "--unreachable", "help": "in the unreachable network"},
    {"name": "--not-seen-since", "value": "DURATION|TIME",
     "help": "no contact since then"},
    {"name": "--guid", "value": "PATTERN", "help": "guid glob"},
]
OPTIONS = {
    "show clients": FILTER_OPTS + [
        {"name": "--sort", "value": "KEY",
         "choices": ["slot", "status", "guid", "last_contact"], "help": "order"},
        {"name": "--limit", "value": "N", "help": "at most N"}],
    "show counts": FILTER_OPTS,
    "remove client": FILTER_OPTS + [
        {"name": "--dry-run", "help": "remove nothing"},
        {"name": "--missing-ok", "help": "skip unknown names"},
        {"name": "--file", "value": "FILE", "help": "read by glournetctl"}],
    "watch": [{"name": "--from", "value": "SEQ", "help": "from #SEQ on"}],
}
FLAGS = {
    "show clients": ["read", "stream"], "show counts": ["read", "stream"],
    "remove client": ["confirm", "stream"], "guard release": ["confirm"],
    "import": [], "export": [], "set": [], "watch": ["read", "stream"],
}
# The fleet of show clients: 4 known clients, g-1 .. g-4 (their ids end
# in aa, bb, cc, dd); removed ones are gone for the daemon's lifetime.
CLIENTS = [
    {"id": "00000000000000aa", "guid": "g-1", "hostname": "pos-0042",
     "status": "unreachable/online", "reason": "heartbeat", "slot": 0},
    {"id": "00000000000000bb", "guid": "g-2", "hostname": "",
     "status": "offline", "reason": "no-contact", "slot": 1},
    {"id": "00000000000000cc", "guid": "g-3", "hostname": "till-7",
     "status": "offline", "reason": "shutdown", "slot": 2},
    {"id": "00000000000000dd", "guid": "g-4", "hostname": "kiosk",
     "status": "online", "reason": "poll", "slot": 3},
]
REMOVED = set()
LOCK = threading.Lock()


def parse_filter(args, allowed):
    """(filter dict, positional words); a usage error for anything else."""
    f, names, i = {}, [], 0
    known = {o["name"]: o for o in allowed}
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            names.append(a)
        elif a not in known:
            raise CommandError(f"usage: unknown option '{a}'")
        elif "value" in known[a]:
            if i + 1 >= len(args):
                raise CommandError(f"usage: {a} needs a value")
            i += 1
            f[a] = args[i]
        else:
            f[a] = True
        i += 1
    for s in f.get("--status", "").split(",") if "--status" in f else []:
        if s not in STATUSES:
            raise CommandError(f"usage: --status: '{s}' is not one of: "
                               + " ".join(STATUSES))
    return f, names


def matching(f):
    with LOCK:
        live = [dict(c) for c in CLIENTS if c["id"] not in REMOVED]
    now = int(time.time())
    for c in live:
        c["last_contact"] = now - 60 * (1 + c["slot"])
    if "--status" in f:
        live = [c for c in live if c["status"] in f["--status"].split(",")]
    if "--unreachable" in f:
        live = [c for c in live if c["status"].startswith("unreachable")]
    if "--guid" in f:
        import fnmatch
        live = [c for c in live if fnmatch.fnmatchcase(c["guid"], f["--guid"])]
    return live


def head(kind, f):
    return {"streaming": True, "kind": kind, "filter": " ".join(
        f"{k} {v}" if v is not True else k for k, v in f.items()),
            "sort": "slot", "clients": len(CLIENTS) - len(REMOVED), "slots": 4}


def cmd_show_clients(args):
    f, names = parse_filter(args, OPTIONS["show clients"])
    if names:
        raise CommandError("usage: show clients [FILTER...]")
    live = matching(f)
    limit = int(f.get("--limit", 0)) or len(live)
    lines = [(0.01, {"client": c}) for c in live[:limit]]
    after = live[limit - 1]["slot"] if limit < len(live) else None
    done = {"matched": len(live[:limit]), "scanned": 4, "elapsed_ms": 1,
            "listed": len(live[:limit]), "after": after,
            "filter": head("list", f)["filter"]}
    raise Stream({"ok": True, "result": head("list", f)},
                 [(0.01, {"progress": {"scanned": 2, "slot": 2, "slots": 4,
                                       "matched": 1}})] + lines
                 + [(0.01, {"done": done})], 0)


def counts(live):
    by_status = {s: sum(c["status"] == s for c in live) for s in STATUSES}
    return {"matched": len(live), "scanned": 4, "elapsed_ms": 1,
            "by_status": by_status,
            "by_reason": {r: sum(c["reason"] == r for c in live)
                          for r in ("heartbeat", "poll", "no-contact",
                                    "shutdown")},
            "by_last_contact": {"1h": len(live), "1d": 0, "7d": 0, "30d": 0,
                                "older": 0, "never": 0},
            "by_range": [{"range": "10.20.0.0-10.20.255.255",
                          "online": 1, "offline": 0}]}


def cmd_show_counts(args):
    f, _ = parse_filter(args, OPTIONS["show counts"])
    done = dict(counts(matching(f)), filter=head("count", f)["filter"])
    raise Stream({"ok": True, "result": head("count", f)},
                 [(0.01, {"done": done})], 0)


def cmd_remove_client(args, force=None):
    f, names = parse_filter(args, OPTIONS["remove client"])
    dry, missing_ok = "--dry-run" in f, "--missing-ok" in f
    filt = {k: v for k, v in f.items() if k not in ("--dry-run",
                                                      "--missing-ok")}
    if "--file" in filt:
        raise CommandError("usage: remove client --file: glournetctl reads "
                           "the file")
    if names and filt:
        raise CommandError("usage: remove client: names or a filter, not both")
    if not names and not filt:
        raise CommandError("usage: remove client <id|guid>... | FILTER...")
    ask = force is False
    if filt:
        live = matching(filt)
        kind = "dry-run" if dry else "preview" if ask else "remove"
        done = dict(counts(live), filter=head(kind, filt)["filter"]) \
            if kind != "remove" else {
            "matched": len(live), "scanned": 4, "removed": len(live),
            "clients": len(CLIENTS) - len(REMOVED) - len(live)}
        lines = []
        if kind == "remove":
            with LOCK:
                REMOVED.update(c["id"] for c in live)
            lines = [(0.01, {"removed": c}) for c in live]
        last = {"done": done}
        if kind == "preview":
            what = (f"remove client: {len(live)} clients match "
                    f"{head(kind, filt)['filter']}: confirm to remove them")
            last = {"error": what, "code": "confirm",
                    "preview": {"confirm": what, "count": len(live)}}
        raise Stream({"ok": True, "result": head(kind, filt)},
                     lines + [(0.01, last)], 0)
    with LOCK:
        live = {c["id"]: c for c in CLIENTS if c["id"] not in REMOVED}
        by_guid = {c["guid"]: c for c in live.values()}
        found, missing = {}, []
        for n in names:
            c = live.get(n) or by_guid.get(n)
            if c:
                found[c["id"]] = c
            elif missing_ok:
                missing.append(n)
            else:
                raise CommandError(f"remove client: no client with id or guid "
                                   f"'{n}' (nothing removed)")
        gone = [{"id": c["id"], "guid": c["guid"], "slot": c["slot"],
                 "status": c["status"]} for c in found.values()]
        if ask and not dry:
            what = (f"remove {len(gone)} clients: "
                    + ", ".join(c["guid"] for c in gone[:5]))
            raise CommandError(what, "confirm",
                               {"preview": {"confirm": what,
                                            "count": len(gone)}})
        if not dry:
            REMOVED.update(found)
        out = {"would_remove" if dry else "removed": gone,
               "clients": len(CLIENTS) - len(REMOVED)}
        if missing_ok:
            out["missing"] = missing
        return out


GUARD = {"held": 120}


def cmd_guard_release(args, force=None):
    if force is False:
        what = (f"guard release: {GUARD['held']} endpoints held by the "
                "mass-offline guard go offline now (R10)")
        raise CommandError(what, "confirm", {"preview": {"confirm": what,
                                                         "count": 120}})
    return {"released": True, "held": GUARD["held"]}


BULK = {"import": None, "export": None, "polls": 0}


def cmd_bulk_start(kind):
    def start(args):
        if not args or not args[0].startswith("/"):
            raise CommandError(f"usage: {kind} FILE [jsonl|csv]")
        with LOCK:
            BULK[kind] = {"path": args[0], "format": "jsonl", "running": True,
                          "seconds": 0, "per_second": 1000, "line": 0,
                          "added": 0, "known": 0, "refused": 0,
                          "exported": 0, "errors": [], "failure": None}
            BULK["polls"] = 0
            if "fail" in args[0]:
                BULK[kind]["failure"] = "cannot open: No such file"
        return {kind: "started", "path": args[0]}
    return start


def cmd_show_bulk(args):
    with LOCK:
        BULK["polls"] += 1
        for kind in ("import", "export"):
            b = BULK[kind]
            if b and b["running"]:
                b["line"] = b["added"] = b["exported"] = 500 * BULK["polls"]
                if BULK["polls"] >= 3 or b["failure"]:
                    b["running"] = False
        return {"import": BULK["import"], "export": BULK["export"]}


def cmd_debug_denied(args):
    raise CommandError("permission denied: uid 1234 is neither root nor in "
                       "the control socket's group (gid 0)", "denied")


def cmd_debug_readonly(args):
    raise CommandError("set: refused on the read-only control socket, which "
                       "can show and watch only", "read-only")


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
    "show clients": (cmd_show_clients, "[FILTER...]", "list the clients"),
    "show counts": (cmd_show_counts, "[FILTER...]", "count the clients"),
    "show bulk": (cmd_show_bulk, "", "import and export progress"),
    "show cluster": (cmd_show_cluster, "[--no-standby]", "collectors, lease, replication"),
    "remove client": (cmd_remove_client, "<id|guid>... | FILTER...",
                      "remove clients"),
    "guard release": (cmd_guard_release, "", "confirm a mass offline"),
    "import": (cmd_bulk_start("import"), "FILE [jsonl|csv]", "add endpoints"),
    "export": (cmd_bulk_start("export"), "FILE [jsonl|csv]", "write them"),
    "set": (lambda a: {"changed": dict(zip(a[::2], a[1::2]))},
            "NAME VALUE [NAME VALUE ...]", "change settings"),
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
    "debug denied": (cmd_debug_denied, "", ""),
    "debug readonly": (cmd_debug_readonly, "", ""),
}
ASKS = {"remove client", "guard release"}  # handlers that take "force"


def encode(response):
    return (json.dumps(response, separators=(",", ":")) + "\n").encode()


def dispatch(argv, force=None):
    """Longest command made of the leading words, like the daemon."""
    for n in range(len(argv), 0, -1):
        name = " ".join(argv[:n])
        spec = COMMANDS.get(name)
        if spec:
            args = argv[n:]
            if name in ASKS:
                if "--force" in args:
                    args = [a for a in args if a != "--force"]
                    force = True
                return spec[0](args, force)
            return spec[0](args)
    raise CommandError(f"usage: unknown command '{' '.join(argv[:2])}'"
                       if argv else "usage: empty command")


REQUEST_LOG = None


def answer(line):
    try:
        request = json.loads(line)
        argv = request["argv"]
        if not isinstance(argv, list) or \
                not all(isinstance(a, str) for a in argv):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return encode({"ok": False, "error": "bad request", "code": "usage"})
    if REQUEST_LOG:
        with LOCK, open(REQUEST_LOG, "a") as log:
            log.write(json.dumps(request) + "\n")
    try:
        return encode({"ok": True,
                       "result": dispatch(argv, request.get("force"))})
    except CommandError as e:
        return encode({"ok": False, "error": str(e), "code": e.code,
                       **e.extra})


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
                if stream.hold:  # a watch: one-way to its end
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
    global REQUEST_LOG
    REQUEST_LOG = path + ".log"
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
