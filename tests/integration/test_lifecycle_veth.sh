#!/usr/bin/env bash
# glournetd's lifecycle and observability (issue #11):
#  - SIGHUP no longer kills it: it re-reads the TLS certificate and key
#    (new handshakes get the new certificate), the log level from
#    --config's file, and says what it reloaded; a key that is not the
#    certificate's is refused and the running pair kept;
#  - DPDK telemetry answers glournet's /glournet/ commands on the socket EAL
#    makes (/var/run/dpdk/PREFIX/dpdk_telemetry.v2), with --no-shconf and
#    with --in-memory, the figures matching show stats;
#  - SIGTERM stops it with exit 0 and leaves neither /var/run/dpdk/PREFIX
#    nor, on hugepages (a private hugetlbfs, pages reserved for the test and
#    given back), any hugepage file of its prefix.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"

TEL=$SRC/tests/tools/telemetry.py
HTTPS_PORT=$((HTTP_PORT + 1))
PREFIX=gn-$TAG
"$SRC/tools/make-cert.sh" "$WORK/a" >/dev/null
"$SRC/tools/make-cert.sh" "$WORK/b" >/dev/null
mkdir -p "$WORK/tls"
cp "$WORK/a/glournet.crt" "$WORK/a/glournet.key" "$WORK/tls/"
OPTS=$WORK/glournetd.yaml
cat >"$OPTS" <<EOF
# read at start, again on SIGHUP
log-level: info
tls-cert: $WORK/tls/glournet.crt
tls-key: $WORK/tls/glournet.key
EOF

served_der() {
	python3 -c 'import ssl, sys, hashlib
pem = ssl.get_server_certificate(("127.0.0.1", int(sys.argv[1])))
print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest())' "$HTTPS_PORT"
}
file_der() {
	python3 -c 'import ssl, sys, hashlib
print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())).hexdigest())' "$1"
}
hup() {
	local n
	n=$(grep -c "SIGHUP" "$WORK/daemon.log" || true)
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 50); do
		[ "$(grep -c "SIGHUP" "$WORK/daemon.log")" -gt "$n" ] && break
		sleep 0.1
	done
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "glournetd died on SIGHUP"
	grep "SIGHUP" "$WORK/daemon.log" | tail -1
}

start_daemon --config "$OPTS" --https "127.0.0.1:$HTTPS_PORT"
[ "$(served_der)" = "$(file_der "$WORK/a/glournet.crt")" ] || fail "serves certificate A"
pass "HTTPS serves certificate A"

# New files at the same paths, SIGHUP: new handshakes get B.
cp "$WORK/b/glournet.crt" "$WORK/b/glournet.key" "$WORK/tls/"
line=$(hup)
grep -q "SIGHUP: reloaded $OPTS: log level info (unchanged); TLS certificate" <<<"$line" ||
	fail "the log says what was reloaded: $line"
[ "$(served_der)" = "$(file_der "$WORK/b/glournet.crt")" ] || fail "serves certificate B after SIGHUP"
ctl show status >/dev/null || fail "the control socket answers after SIGHUP"
pass "SIGHUP: still running, certificate B served; $line"

# The log level from the configuration file.
sed -i 's/^log-level: info/log-level: debug/' "$OPTS"
line=$(hup)
grep -q "log level info -> debug" <<<"$line" || fail "log level reloaded: $line"
pass "SIGHUP: $line"

# A key that is not the certificate's: refused, B kept.
cp "$WORK/a/glournet.key" "$WORK/tls/glournet.key"
line=$(hup)
grep -q "the running certificate and key are kept" <<<"$line" || fail "bad pair refused: $line"
[ "$(served_der)" = "$(file_der "$WORK/b/glournet.crt")" ] || fail "still serves B"
pass "SIGHUP with a mismatched key: refused, B still served"

# Telemetry, --no-shconf: the same figures as show stats.
SOCKP=/var/run/dpdk/$PREFIX/dpdk_telemetry.v2
"$AGENT" register --server "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --count 3 \
	--guid-prefix lc --state "$WORK/state" >/dev/null
for i in 0 1 2; do
	in_ns python3 "$FORGE" --state "$WORK/state" --to "$LAB_COLLECTOR4" --kind valid --index $i >/dev/null
done
wait_field 5 .total.accepted 3 show stats
out=$(python3 "$TEL" "$SOCKP" /glournet/stats /glournet/port /glournet/worker,0 /glournet/status \
	/ethdev/stats,0) || fail "telemetry client: $out"
jq -se '.[0]["/glournet/stats"].accepted == 3 and .[0]["/glournet/stats"].workers == 1 and
	.[1]["/glournet/port"].link_up == 1 and .[1]["/glournet/port"].ipackets >= 3 and
	(.[1]["/glournet/port"] | has("imissed") and has("rx_nombuf")) and
	.[2]["/glournet/worker"].accepted == 3 and .[3]["/glournet/status"].clients == 3 and
	.[4]["/ethdev/stats"].ipackets >= 3' <<<"$out" >/dev/null ||
	fail "telemetry answers: $out"
pass "telemetry /glournet/stats, /port, /worker,0, /status agree with show stats"

stop_daemon
[ ! -e "/var/run/dpdk/$PREFIX" ] || fail "/var/run/dpdk/$PREFIX left behind: $(ls -la "/var/run/dpdk/$PREFIX")"
pass "SIGTERM: exit 0, /var/run/dpdk/$PREFIX removed"

# On hugepages: a private hugetlbfs, pages added for the test and given back.
HP=/proc/sys/vm/nr_hugepages
HP0=$(cat $HP)
HPDIR=$WORK/huge
mkdir -p "$HPDIR"
restore_hp() { umount "$HPDIR" 2>/dev/null || true; echo "$HP0" >$HP 2>/dev/null || true; }
trap 'restore_hp; cleanup' EXIT
echo $((HP0 + 128)) >$HP
if [ "$(cat $HP)" -lt $((HP0 + 128)) ] || ! mount -t hugetlbfs nodev "$HPDIR"; then
	echo "SKIP (part): cannot reserve 128 hugepages here; the hugepage checks did not run"
	exit 0
fi
for mode in unlink in-memory; do
	extra=()
	[ $mode = in-memory ] && extra=(--in-memory)
	mkdir -p "$WORK/gnstate"
	"$GLOURNETD" --token "$TOKEN" --http "127.0.0.1:$HTTP_PORT" --ctl-socket "$SOCK" \
		--state-dir "$WORK/gnstate" --idle-sleep-us 200 -- -l 0,1 --huge-dir "$HPDIR" \
		"${extra[@]}" --file-prefix "$PREFIX" --no-pci \
		--vdev "net_af_packet0,iface=$(lab_host "$TAG")" >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do ctl show status >/dev/null 2>&1 && break; sleep 0.1; done
	ctl show status >/dev/null || fail "hugepages ($mode): glournetd did not start"
	[ -z "$(ls "$HPDIR")" ] || fail "hugepages ($mode): files in hugetlbfs while running: $(ls "$HPDIR")"
	python3 "$TEL" "$SOCKP" /glournet/stats >/dev/null || fail "telemetry socket with $mode"
	stop_daemon
	left=$(ls "$HPDIR"; ls -d "/var/run/dpdk/$PREFIX" 2>/dev/null || true)
	[ -z "$left" ] || fail "hugepages ($mode): left behind: $left"
	grep -q "EAL arguments added by glournetd: --huge-unlink" "$WORK/daemon.log" ||
		fail "the log says --huge-unlink was added"
	pass "hugepages, $mode: no hugepage file while running or after, telemetry answers, runtime directory gone"
done
