#!/usr/bin/env python3
"""Checks glournet's metrics against what else says the same (docs/metrics.md).

  metrics_check.py compare SCRAPE BEFORE_STATUS BEFORE_STATS AFTER_STATUS AFTER_STATS
      A scrape of /metrics against `glournetctl -j show status` and
      `show stats` taken just before and just after it: a gauge equals the
      CLI's value (which must not have moved), a counter lies between the
      two readings. Every family of the scrape is checked somewhere, or
      named in UNCHECKED with the reason.

  metrics_check.py alerts RULES TEST...
      Every alert of RULES has a `promtool test rules` case in the TESTs
      where it fires (exp_alerts with labels) and one where it does not
      (exp_alerts: []), and no test names an alert RULES lacks.

  metrics_check.py dashboard-rules DASHBOARD OUT
      Writes every query of the Grafana dashboard, its variables given
      values ($instance: .*, $__rate_interval: 5m), into OUT as recording
      rules, so that `promtool check rules OUT` parses each as PromQL.

  metrics_check.py names DOCS [--scrape SCRAPE] FILE...
      Every glournet_* name the FILEs use (Prometheus rules, their unit
      tests, a Grafana dashboard: its JSON must parse) is a family of
      docs/metrics.md, or a sample of one (_bucket, _sum, _count); with
      --scrape, the documented families are exactly the scrape's.

Exit 0 when everything holds, 1 with one line per problem.
"""
import json
import re
import sys

# A metric name; not a part of a recording rule's level:name:operation.
NAME_RE = re.compile(r"(?<![:\w])glournet_[a-z0-9_]*[a-z0-9](?![:\w])")
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
NOTIFY_HEADING = "reserved for the notify module"

problems = []


def problem(msg):
    problems.append(msg)


def parse(text):
    """{family: {"type", "help", "samples": [(name, {labels}, value)]}}"""
    fams, cur = {}, None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, helptext = line[7:].partition(" ")
            cur = fams.setdefault(name, {"type": None, "help": helptext, "samples": []})
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            fams[name]["type"] = typ
        elif line and not line.startswith("#"):
            m = SAMPLE_RE.match(line)
            if not m:
                problem(f"unparsable sample line: {line}")
                continue
            labels = {k: bytes(v, "utf-8").decode("unicode_escape")
                      for k, v in LABEL_RE.findall(m.group(3) or "")}
            cur["samples"].append((m.group(1), labels, float(m.group(4))))
    return fams


def documented(docs_path):
    """(families documented, those reserved for the notify module)."""
    fams, reserved, in_notify = set(), set(), False
    for line in open(docs_path, encoding="utf-8"):
        if line.startswith("#"):
            in_notify = NOTIFY_HEADING in line.lower()
            continue
        m = re.match(r"^\|\s*`(glournet_[a-z0-9_]+)`", line)
        if m:
            (reserved if in_notify else fams).add(m.group(1))
    return fams, reserved


# ------------------------------------------------------------------ compare

UNCHECKED = {
    # Moves on its own, or has no CLI counterpart; its presence is checked.
    "glournet_info": "a constant 1 (its version label is checked)",
    # Several collectors (show cluster .changes; 0 on SQLite, which this scrape runs).
    "glournet_changes_cursor": "show cluster .changes.cursor, PostgreSQL only",
    "glournet_changes_lag_seconds": "show cluster .changes.lag_s, PostgreSQL only",
    "glournet_changes_applied_total": "show cluster .changes.applied, PostgreSQL only",
    "glournet_changes_failed_total": "show cluster .changes.failed, PostgreSQL only",
    "glournet_changes_guid_races_total": "show cluster .changes.guid_races, PostgreSQL only",
    "glournet_uptime_seconds": "checked against the start time",
    "glournet_metrics_scrapes_total": "the metrics server's own count",
    "glournet_unreachable_ranges": "checked against by_range",
    "glournet_endpoints_max": "the --max-endpoints option",
    "glournet_table_memory_bytes": "show status table_bytes moves with every allocation",
    "glournet_registry_memory_bytes": "checked against show stats registry",
    "glournet_sweep_last_start_timestamp_seconds": "checked against now",
    "glournet_sweep_interval_seconds": "the --sweep-interval option",
    "glournet_worker_info": "checked against show stats workers",
    "glournet_port_link_up": "checked against /readyz",
    "glournet_neighbour_entries": "checked against show stats exception",
    "glournet_loop_job_slice_seconds": "checked against slices",
    "glournet_loop_job_cpu_seconds_total": "no CLI counterpart (last pass CPU only)",
    "glournet_loop_job_last_pass_seconds": "a pass may end between the readings",
    "glournet_loop_job_in_pass": "a pass may begin between the readings",
    "glournet_http_held_answers": "no CLI counterpart; 0 on an idle API",
    "glournet_store_open": "checked against show status store",
    "glournet_store_last_commit_seconds": "a commit may land between the readings",
    "glournet_transition_log_errors_total": "no CLI counterpart; 0 on a healthy disk",
    "glournet_transitions_total": "checked by the test against the transitions it caused",
    "glournet_ctl_idle_closed_total": "no CLI counterpart",
    "glournet_ctl_watch_missed_events_total": "no CLI counterpart",
    "glournet_guard_held_transitions": "checked against show status guard.held",
    "glournet_guard_at_risk_endpoints": "checked against show status guard.at_risk",
    "glournet_guard_online_endpoints": "checked against show status guard.online",
    "glournet_guard_since_timestamp_seconds": "checked against show status guard",
    "glournet_restart_grace": "checked against show status restart_grace",
}

checked = set()


def samples(fams, name):
    fam = fams.get(name)
    if fam is None:
        problem(f"no family {name} in the scrape")
        return []
    return fam["samples"]


def sample(fams, name, **labels):
    base = re.sub(r"_(bucket|sum|count)$", "", name) if name not in fams else name
    for n, ls, v in samples(fams, base):
        if n == name and ls == labels:
            return v
    problem(f"no sample {name}{labels}")
    return None


def gauge(fams, name, before, after, **labels):
    """Equal to the CLI's value, which did not move."""
    checked.add(name)
    v = sample(fams, name, **labels)
    if v is None:
        return
    if before != after:
        lo, hi = min(before, after), max(before, after)
        if not lo <= v <= hi:
            problem(f"{name}{labels} = {v}, the CLI said {before} then {after}")
    elif abs(v - float(before)) > 1e-9 * max(1.0, abs(float(before))):
        problem(f"{name}{labels} = {v}, the CLI says {before}")


def counter(fams, name, before, after, tol=0.0, **labels):
    """Between the two readings (tol: the CLI's rounding)."""
    checked.add(name)
    v = sample(fams, name, **labels)
    if v is None:
        return
    if not before - tol <= v <= after + tol:
        problem(f"{name}{labels} = {v}, not between the CLI's {before} and {after}")


def compare(scrape, st1, ss1, st2, ss2):
    fams = parse(open(scrape, encoding="utf-8").read())
    st1, ss1, st2, ss2 = (json.load(open(p)) for p in (st1, ss1, st2, ss2))
    for name, fam in fams.items():
        if not fam["type"] or not fam["help"]:
            problem(f"{name}: no TYPE or HELP")

    # The fleet.
    for key, status in (("online", "online"), ("offline", "offline"),
                        ("unreachable_online", "unreachable/online"),
                        ("unreachable_offline", "unreachable/offline")):
        gauge(fams, "glournet_endpoints", st1[key], st2[key], status=status)
    total = sum(v for _, _, v in samples(fams, "glournet_endpoints"))
    if total != st1["clients"]:
        problem(f"glournet_endpoints sums to {total}, show status clients = {st1['clients']}")
    for r1, r2 in zip(st1["by_range"], st2["by_range"]):
        for key in ("unreachable_online", "unreachable_offline"):
            gauge(fams, "glournet_unreachable_range_endpoints", r1[key], r2[key],
                  range=r1["range"], status=key.replace("_", "/"))
    got = len(samples(fams, "glournet_unreachable_range_endpoints"))
    if got != 2 * len(st1["by_range"]):
        problem(f"{got} range samples for {len(st1['by_range'])} ranges")
    gauge(fams, "glournet_unreachable_ranges", len(st1["by_range"]), len(st2["by_range"]))
    gauge(fams, "glournet_settings_revision", st1["settings_rev"], st2["settings_rev"])
    gauge(fams, "glournet_start_time_seconds", st1["started"], st2["started"])
    up = sample(fams, "glournet_uptime_seconds")
    if up is not None and not st1["now"] - st1["started"] <= up <= st2["now"] - st2["started"]:
        problem(f"glournet_uptime_seconds = {up}, not between the CLI's readings")
    gauge(fams, "glournet_restart_grace", int(st1["restart_grace"]), int(st2["restart_grace"]))
    c1, c2 = st1["clock"], st2["clock"]
    for d in ("forward", "backward"):
        counter(fams, "glournet_clock_steps_total", c1["steps_" + d], c2["steps_" + d],
                direction=d)
    gauge(fams, "glournet_clock_offset_seconds", c1["offset"], c2["offset"])
    gauge(fams, "glournet_endpoint_slots", st1["clients"], st2["clients"], state="used")
    gauge(fams, "glournet_endpoint_slots", st1["slots"]["free"], st2["slots"]["free"],
          state="free")
    gauge(fams, "glournet_endpoint_slots", st1["slots"]["quarantined"],
          st2["slots"]["quarantined"], state="quarantined")
    counter(fams, "glournet_endpoints_removed_total", st1["removed"], st2["removed"],
            cause="operator")
    counter(fams, "glournet_endpoints_removed_total", st1["expired"], st2["expired"],
            cause="expired")
    g1, g2 = st1["guard"], st2["guard"]
    gauge(fams, "glournet_guard_active", int(g1["active"]), int(g2["active"]))
    counter(fams, "glournet_guard_raised_total", g1["raised"], g2["raised"])
    gauge(fams, "glournet_guard_threshold_ratio", g1["threshold"] / 100, g2["threshold"] / 100)
    for key, name in (("held", "glournet_guard_held_transitions"),
                      ("at_risk", "glournet_guard_at_risk_endpoints"),
                      ("online", "glournet_guard_online_endpoints")):
        gauge(fams, name, g1[key], g2[key])
    gauge(fams, "glournet_guard_since_timestamp_seconds", g1["since"], g2["since"])
    if st1["store"] is not None:
        gauge(fams, "glournet_store_open", 1, 1)
        gauge(fams, "glournet_store_alarm", int(not st1["store"]["ok"]), int(not st2["store"]["ok"]))

    # The workers: each, and their sum as show stats' totals.
    w1, w2 = ss1["workers"], ss2["workers"]
    for a, b in zip(w1, w2):
        w = str(a["worker"])
        gauge(fams, "glournet_worker_info", 1, 1, worker=w, lcore=str(a["lcore"]),
              queue=str(a["queue"]))
        counter(fams, "glournet_worker_frames_total", a["rx"], b["rx"], worker=w)
        counter(fams, "glournet_heartbeats_accepted_total", a["accepted"], b["accepted"],
                worker=w)
        for reason in a["dropped"]:
            routes = [ls["route"] for _, ls, _ in samples(fams, "glournet_heartbeats_dropped_total")
                      if ls["worker"] == w and ls["reason"] == reason]
            if len(routes) != 1 or routes[0] not in ("ours", "kernel", "bad"):
                problem(f"drop reason {reason} of worker {w}: routes {routes}")
                continue
            counter(fams, "glournet_heartbeats_dropped_total", a["dropped"][reason],
                    b["dropped"][reason], worker=w, reason=reason, route=routes[0])
        for key, name in (("shutdowns", "glournet_worker_shutdowns_total"),
                          ("boots", "glournet_worker_boots_total"),
                          ("notify_acks", "glournet_worker_notify_acks_total"),
                          ("ring_full", "glournet_worker_events_dropped_total")):
            counter(fams, name, a["passed_on"][key], b["passed_on"][key], worker=w)
        for result in a["exception"]:
            counter(fams, "glournet_exception_frames_total", a["exception"][result],
                    b["exception"][result], worker=w, result=result)
    for name, key in (("glournet_worker_frames_total", "rx"),
                      ("glournet_heartbeats_accepted_total", "accepted")):
        s = sum(v for _, _, v in samples(fams, name))
        if not ss1["total"][key] <= s <= ss2["total"][key]:
            problem(f"{name} sums to {s}, show stats total.{key} {ss1['total'][key]}..")
    n_dropped = len(samples(fams, "glournet_heartbeats_dropped_total"))
    if n_dropped != len(w1) * len(ss1["total"]["dropped"]):
        problem(f"{n_dropped} drop samples for {len(w1)} workers x "
                f"{len(ss1['total']['dropped'])} reasons")
    for key, event in (("shutdowns", "shutdown"), ("boots", "boot"),
                       ("notify_acks", "notify_ack"), ("sources", "source"), ("stale", "stale")):
        counter(fams, "glournet_control_events_total", ss1["events"][key], ss2["events"][key],
                event=event)

    # Notify campaigns (R11, R12), per kind.
    n1, n2 = ss1["notify"], ss2["notify"]
    for kind in ("change", "verify"):
        k1, k2 = n1["by_kind"][kind], n2["by_kind"][kind]
        for key in ("campaigns", "sent", "resent", "acked", "gave_up"):
            counter(fams, f"glournet_notify_{key}_total", k1[key], k2[key], kind=kind)
        gauge(fams, "glournet_notify_campaign_running", int(k1["running"]), int(k2["running"]),
              kind=kind)
    gauge(fams, "glournet_notify_pending_endpoints", n1["pending_endpoints"],
          n2["pending_endpoints"])

    # The port.
    p1, p2 = ss1["port"], ss2["port"]
    port = str(p1["port_id"])
    for name, key in (("glournet_port_received_packets_total", "ipackets"),
                      ("glournet_port_received_bytes_total", "ibytes"),
                      ("glournet_port_missed_packets_total", "imissed"),
                      ("glournet_port_errors_total", "ierrors"),
                      ("glournet_port_no_mbuf_total", "rx_nombuf")):
        counter(fams, name, p1[key], p2[key], port=port)
    for qa, qb in zip(p1["queues"], p2["queues"]):
        ls = {"port": port, "queue": str(qa["queue"]), "worker": str(qa["worker"])}
        for name, key in (("glournet_port_queue_received_packets_total", "ipackets"),
                          ("glournet_port_queue_received_bytes_total", "ibytes"),
                          ("glournet_port_queue_errors_total", "errors")):
            counter(fams, name, qa[key], qb[key], **ls)
    if len(samples(fams, "glournet_port_queue_received_packets_total")) != len(p1["queues"]):
        problem("not one queue sample per queue of show stats port.queues")
    # The losses below DPDK's counters: as show stats has them, and none it lacks.
    checked.add("glournet_port_xstat_losses_total")
    for xname, v in p1["xstats_losses"].items():
        counter(fams, "glournet_port_xstat_losses_total", v,
                p2["xstats_losses"].get(xname, v), port=port, name=xname)
    if len(samples(fams, "glournet_port_xstat_losses_total")) > len(p2["xstats_losses"]):
        problem("more xstat loss samples than show stats port.xstats_losses")
    k1, k2 = p1["kernel"], p2["kernel"]
    checked.add("glournet_port_kernel_dropped_total")
    if k1["sockets"]:
        for key in ("af_packet_drops", "xdp_rx_dropped", "xdp_rx_invalid_descs",
                    "xdp_rx_ring_full", "xdp_rx_fill_ring_empty"):
            counter(fams, "glournet_port_kernel_dropped_total", k1[key], k2[key], port=port,
                    counter=key)
    elif samples(fams, "glournet_port_kernel_dropped_total"):
        problem("kernel drop samples though show stats found no socket of the port")

    # The exception and TX paths.
    e1, e2 = ss1.get("exception"), ss2.get("exception")
    if e1:
        for event in e1["kernel"]:
            counter(fams, "glournet_exception_interface_frames_total", e1["kernel"][event],
                    e2["kernel"][event], event=event)
        for result in e1["tx"]:
            counter(fams, "glournet_tx_frames_total", e1["tx"][result], e2["tx"][result],
                    result=result)
        gauge(fams, "glournet_neighbour_entries", e1["neighbours"]["entries"],
              e2["neighbours"]["entries"])

    # The loop's jobs: one series per job, the same jobs as show stats.
    j1, j2 = ss1["jobs"], ss2["jobs"]
    jobs = {ls["job"] for _, ls, _ in samples(fams, "glournet_loop_job_passes_total")}
    if jobs != set(j1):
        problem(f"jobs in the scrape {sorted(jobs)}, in show stats {sorted(j1)}")
    for job in j1:
        a, b = j1[job], j2[job]
        counter(fams, "glournet_loop_job_passes_total", a["passes"], b["passes"], job=job)
        counter(fams, "glournet_loop_job_slices_total", a["slices"], b["slices"], job=job)
        counter(fams, "glournet_loop_job_max_slice_seconds", a["max_slice_ms"] / 1e3,
                b["max_slice_ms"] / 1e3, 1e-6, job=job, clock="wall")
        counter(fams, "glournet_loop_job_max_slice_seconds", a["max_slice_cpu_ms"] / 1e3,
                b["max_slice_cpu_ms"] / 1e3, 1e-6, job=job, clock="cpu")
        n = sample(fams, "glournet_loop_job_slice_seconds_count", job=job)
        inf = sample(fams, "glournet_loop_job_slice_seconds_bucket", job=job, le="+Inf")
        slices = sample(fams, "glournet_loop_job_slices_total", job=job)
        if not n == inf == slices:
            problem(f"job {job}: histogram count {n}, +Inf {inf}, slices {slices}")
    checked.add("glournet_loop_job_slice_seconds")

    # The endpoint API, registrations, the control socket.
    h1, h2 = ss1["http"], ss2["http"]
    counter(fams, "glournet_http_requests_total", h1["requests"], h2["requests"])
    results = {ls["result"] for _, ls, _ in samples(fams, "glournet_http_responses_total")}
    closed = {ls["reason"] for _, ls, _ in samples(fams, "glournet_http_connections_closed_total")}
    if results | {"conn_" + r for r in closed} != set(h1) - {"requests"} or results & closed:
        problem(f"http results in the scrape {sorted(results)} + closed {sorted(closed)}, "
                f"in show stats {sorted(h1)}")
    for reason in closed:
        counter(fams, "glournet_http_connections_closed_total", h1["conn_" + reason],
                h2["conn_" + reason], reason=reason)
    for _, ls, v in samples(fams, "glournet_http_responses_total"):
        counter(fams, "glournet_http_responses_total", h1[ls["result"]], h2[ls["result"]], **ls)
    for result, key in (("new", "register_new"), ("known", "register_known"),
                        ("rekeyed", "register_rekeyed")):
        counter(fams, "glournet_registrations_total", h1[key], h2[key], result=result)
    c1, c2 = ss1["control"], ss2["control"]
    counter(fams, "glournet_ctl_connections_refused_total", c1["rejected"], c2["rejected"],
            reason="too_many")
    counter(fams, "glournet_ctl_bad_requests_total", c1["bad_requests"], c2["bad_requests"])

    # The store.
    s1, s2 = ss1["store"], ss2["store"]
    gauge(fams, "glournet_store_queue_ops", s1["queue_len"], s2["queue_len"])
    gauge(fams, "glournet_store_queue_limit_ops", s1["queue_max"], s2["queue_max"])
    for name, key in (("glournet_store_ops_queued_total", "queued"),
                      ("glournet_store_ops_committed_total", "committed_ops"),
                      ("glournet_store_commits_total", "batches"),
                      ("glournet_store_commit_errors_total", "commit_errors"),
                      ("glournet_store_reconnects_total", "reconnects")):
        counter(fams, name, s1[key], s2[key])
    gauge(fams, "glournet_store_unreachable", int(s1["unreachable"]), int(s2["unreachable"]))
    r1, r2 = ss1["registry"], ss2["registry"]
    for part in ("entries", "details", "index"):
        gauge(fams, "glournet_registry_memory_bytes", r1[part + "_bytes"], r2[part + "_bytes"],
              part=part)

    for name in fams:
        if name not in checked and name not in UNCHECKED:
            problem(f"family {name} is neither compared nor listed in UNCHECKED")


# -------------------------------------------------------------------- names

def names(docs, scrape, files):
    fams, reserved = documented(docs)
    if not fams:
        problem(f"{docs}: no family table")
    known = fams | reserved

    def resolves(name):
        if name in known:
            return True
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        return base != name and base in known

    for path in files:
        text = open(path, encoding="utf-8").read()
        if path.endswith(".json"):
            try:
                dash = json.loads(text)
            except ValueError as e:
                problem(f"{path}: not JSON: {e}")
                continue
            exprs = [t.get("expr", "") for p in all_panels(dash) for t in p.get("targets", [])]
            for v in dash.get("templating", {}).get("list", []):
                q = v.get("query")
                exprs.append(q.get("query", "") if isinstance(q, dict) else q or "")
            if not any(exprs):
                problem(f"{path}: no panel has a query")
            text = "\n".join(exprs)
        for name in sorted(set(NAME_RE.findall(text))):
            if not resolves(name):
                problem(f"{path}: {name} is no family of {docs}")
    if scrape:
        got = set(parse(open(scrape, encoding="utf-8").read()))
        for name in sorted(fams - got):
            problem(f"{docs} documents {name}, the scrape has no such family")
        for name in sorted(got - fams):
            problem(f"the scrape has {name}, {docs} does not document it")
        for name in sorted(reserved & got):
            problem(f"{name} is in the scrape: move it out of the notify module's reserved list")


# ------------------------------------------------------------------- alerts

def alerts(rules, tests):
    declared = set(re.findall(r"^\s*-\s*alert:\s*(\S+)", open(rules).read(), re.M))
    firing, quiet = set(), set()
    for path in tests:
        lines = open(path, encoding="utf-8").read().splitlines()
        current = None
        for i, line in enumerate(lines):
            m = re.match(r"^\s*alertname:\s*(\S+)", line)
            if m:
                current = m.group(1)
                if current not in declared:
                    problem(f"{path}: {current} is no alert of {rules}")
            elif re.match(r"^\s*exp_alerts:\s*\[\]", line):
                quiet.add(current)
            elif re.match(r"^\s*exp_alerts:\s*$", line):
                nxt = next((l for l in lines[i + 1:] if l.strip()), "")
                if re.match(r"^\s*-\s*exp_labels:", nxt):
                    firing.add(current)
    for name in sorted(declared - firing):
        problem(f"{name}: no test where it fires")
    for name in sorted(declared - quiet):
        problem(f"{name}: no test where it does not fire")


def dashboard_rules(dash_path, out):
    dash = json.load(open(dash_path, encoding="utf-8"))
    exprs = [(p.get("title", "?"), t["expr"]) for p in all_panels(dash)
             for t in p.get("targets", []) if t.get("expr")]
    with open(out, "w", encoding="utf-8") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, (title, expr) in enumerate(exprs):
            expr = expr.replace("$__rate_interval", "5m").replace("$instance", ".*")
            if "$" in expr:
                problem(f"{dash_path}: panel '{title}': a variable left in {expr}")
            f.write(f"      - record: dashboard:panel_{i}\n        expr: {json.dumps(expr)}\n")
    if not exprs:
        problem(f"{dash_path}: no queries")


def all_panels(dash):
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])  # rows


def main(argv):
    if len(argv) >= 6 and argv[0] == "compare":
        compare(*argv[1:6])
    elif len(argv) == 3 and argv[0] == "dashboard-rules":
        dashboard_rules(argv[1], argv[2])
    elif len(argv) >= 3 and argv[0] == "alerts":
        alerts(argv[1], argv[2:])
    elif len(argv) >= 2 and argv[0] == "names":
        docs, rest, scrape = argv[1], argv[2:], None
        if rest[:1] == ["--scrape"]:
            scrape, rest = rest[1], rest[2:]
        names(docs, scrape, rest)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
