#!/usr/bin/env bash
# Two collectors, one fleet (issue 16, docs/store.md): installs what is
# needed, builds, starts a throwaway PostgreSQL 15 and two glournetd
# ("site-a", "site-b") on their own veth labs sharing it. Endpoints register
# on both (each registration reaches the other collector through the change
# feed), heartbeat half to each, a share falls silent; then the deciding
# collector is killed with SIGKILL and the other takes over with no false
# offline. Everything it starts it stops. Root required; no NIC.
#
#   tools/demo-cluster.sh [--endpoints N] [--silent-fraction F]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
ENDPOINTS=2000
SILENT=0.1
while [ $# -gt 0 ]; do
	case $1 in
	--endpoints) ENDPOINTS=$2; shift 2 ;;
	--silent-fraction) SILENT=$2; shift 2 ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo-cluster.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "demo-cluster.sh: run as root (network namespaces, DPDK)" >&2; exit 1; }
case $ENDPOINTS in '' | *[!0-9]*) echo "demo-cluster.sh: --endpoints '$ENDPOINTS' is not a count" >&2; exit 2 ;; esac
[ "$ENDPOINTS" -ge 2 ] || { echo "demo-cluster.sh: --endpoints must be at least 2" >&2; exit 2; }

"$SRC/tools/setup-deps.sh"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null
ninja -C "$BUILD" >/dev/null

. "$SRC/tools/lab-net.sh"
PGBIN=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/glournet-democl.XXXXXX)
chmod 0755 "$WORK"
TOKEN=demo-token
INTERVAL=2
OFFLINE_AFTER=8
LEASE=3
declare -A PID HTTP
HTTP[a]=18081 HTTP[b]=18082
PGPORT=25431
PGPW=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
AGENTS=()

pg() { runuser -u postgres -- "$PGBIN/$1" "${@:2}"; }
cleanup() {
	for p in "${AGENTS[@]}"; do kill "$p" 2>/dev/null || true; done
	for c in a b; do
		[ -n "${PID[$c]:-}" ] && kill -TERM "${PID[$c]}" 2>/dev/null && wait "${PID[$c]}" 2>/dev/null
		lab_down "demo-$c"
	done
	[ -f "$WORK/pg/data/postmaster.pid" ] && pg pg_ctl -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
ctl() { "$BUILD/tools/glournetctl" -s "$WORK/$1.sock" "${@:2}"; }
counts() { ctl "$1" -j show status | jq -c '{clients, online, offline}'; }

echo "== a throwaway PostgreSQL 15 on 127.0.0.1:$PGPORT ($WORK/pg)"
mkdir -p "$WORK/pg/sock" && printf '%s\n' "$PGPW" >"$WORK/pg/pw" && chown -R postgres "$WORK/pg"
pg initdb -D "$WORK/pg/data" -U gn --pwfile="$WORK/pg/pw" --auth-local=trust \
	--auth-host=scram-sha-256 >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; exit 1; }
pg pg_ctl -D "$WORK/pg/data" -l "$WORK/pg/pg.log" -w -o "-k $WORK/pg/sock -p $PGPORT -c listen_addresses=127.0.0.1" start >/dev/null
psql -h "$WORK/pg/sock" -p $PGPORT -U gn -d postgres -XAtqc "CREATE DATABASE glournet"
# The password from a file of glournetd's own (mode 0600), not the command line.
umask 077 && printf '127.0.0.1:%s:glournet:gn:%s\n' $PGPORT "$PGPW" >"$WORK/pgpass" && umask 022
URL="postgresql://gn@127.0.0.1:$PGPORT/glournet?target_session_attrs=read-write&connect_timeout=3"

start() {   # start a|b: a collector on its own veth lab
	local c=$1
	lab_up "demo-$c"
	PGPASSFILE=$WORK/pgpass "$BUILD/control/glournetd" --token "$TOKEN" \
		--http "127.0.0.1:${HTTP[$c]}" --ctl-socket "$WORK/$c.sock" --state-dir "$WORK/state-$c" \
		--store "$URL" --collector-name "site-$c" --lease ${LEASE}s --hb-addr "$LAB_COLLECTOR4" \
		--hb-interval ${INTERVAL}s --offline-after ${OFFLINE_AFTER}s --register-rate 0 \
		--exception-iface "gnx-demo-$c" --idle-sleep-us 200 \
		-- -l 0,1 --no-huge --no-shconf -m 256 --file-prefix "gn-demo-$c" --no-pci \
		--vdev "net_af_packet0,iface=$(lab_host "demo-$c")" --log-level=lib.eal:warning \
		>"$WORK/$c.log" 2>&1 &
	PID[$c]=$!
	for _ in $(seq 100); do ctl "$c" show status >/dev/null 2>&1 && break; sleep 0.1; done
	ctl "$c" show status >/dev/null || { tail -n 20 "$WORK/$c.log"; exit 1; }
	lab_neigh "demo-$c"
}
echo "== two collectors on it: site-a (HTTP :${HTTP[a]}) and site-b (HTTP :${HTTP[b]})"
start a
start b

HALF=$((ENDPOINTS / 2))
echo "== $HALF endpoints register on site-a, $((ENDPOINTS - HALF)) on site-b"
"$BUILD/tools/glournet-agent" register --server "http://127.0.0.1:${HTTP[a]}" --token "$TOKEN" \
	--count $HALF --guid-prefix demo --state "$WORK/state.a" >/dev/null
"$BUILD/tools/glournet-agent" register --server "http://127.0.0.1:${HTTP[b]}" --token "$TOKEN" \
	--first $HALF --count $((ENDPOINTS - HALF)) --guid-prefix demo --state "$WORK/state.b" >/dev/null
sleep 1
echo "site-a holds $(ctl a -j show status | jq .clients) endpoints, site-b $(ctl b -j show status | jq .clients)"

echo "== each half heartbeats to its own collector; ${SILENT} of each half falls silent after 10 s"
for c in a b; do
	ip netns exec "$(lab_ns "demo-$c")" "$BUILD/tools/glournet-agent" heartbeat \
		--state "$WORK/state.$c" --to "$LAB_COLLECTOR4" --interval $INTERVAL --duration 60 \
		--silent-fraction "$SILENT" --silent-after 10 >"$WORK/agent-$c.log" 2>&1 &
	AGENTS+=($!)
done
sleep $((10 + OFFLINE_AFTER + 4))
echo "site-a: $(counts a)   site-b: $(counts b)   (the same fleet on both)"
echo
echo "== glournetctl show cluster (on site-b)"
ctl b show cluster
echo

decider=a other=b
[ "$(ctl b -j show cluster | jq -r .deciding)" = true ] && decider=b other=a
echo "== SIGKILL of the deciding collector, site-$decider"
kill -KILL "${PID[$decider]}"; wait "${PID[$decider]}" 2>/dev/null || true; PID[$decider]=
t0=$(date +%s%N)
for _ in $(seq 100); do [ "$(ctl $other -j show cluster | jq -r .deciding)" = true ] && break; sleep 0.1; done
printf 'site-%s decides %d ms later (epoch %s)\n' "$other" $((($(date +%s%N) - t0) / 1000000)) \
	"$(ctl $other -j show cluster | jq .epoch)"
sleep $((OFFLINE_AFTER + 4))
echo "site-$other: $(counts $other)   (the endpoints heard only through site-$decider are offline"
echo "            now: they lost their collector; the rest stayed online)"
echo "== glournetd logs: $WORK/a.log, $WORK/b.log (removed at exit); last lines of site-$other:"
tail -n 6 "$WORK/$other.log"
