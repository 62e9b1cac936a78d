#!/usr/bin/env bash
# EAL owned by glournetd (issue #11): the README's example and the one in
# `glournetd --help` start exactly as written (taken from README.md and
# from the help text, not copied here), on an interface named veth0 as
# they say, in a network namespace of their own and a mount namespace
# with its own /run and /var/lib (so /run/glournet, /var/lib/glournet and
# /var/run/dpdk), so that
# their default paths and ports touch nothing else on the machine. Then a
# misspelt vdev driver, a missing interface, a misspelt devarg and an
# argument EAL does not know: each refused with a message naming the fix.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
. "$SRC/tests/integration/lib.sh"
command -v unshare >/dev/null || { echo "SKIP: needs unshare (util-linux)"; exit 77; }

NS=gne-$TAG
cleanup_ns() { ip netns del "$NS" 2>/dev/null || true; }
trap 'cleanup_ns; cleanup' EXIT
ip netns add "$NS"
ip -n "$NS" link add veth0 type veth peer name veth0p
ip -n "$NS" link set lo up
ip -n "$NS" link set veth0 up
ip -n "$NS" link set veth0p up
"$SRC/tools/make-cert.sh" "$WORK" >/dev/null

# The command of a ```sh block of README.md starting at its "glournetd"
# line, continuation lines joined.
readme_example() {
	awk '/^glournetd --token/ {on = 1} on {print} on && !/\\$/ {exit}' "$SRC/README.md" |
		sed 's/\\$//' | tr '\n' ' '
}
help_example() {
	"$GLOURNETD" --help | awk '/^  glournetd --token/ {on = 1} on {print} on && !/\\$/ {exit}' | sed 's/^ *//' |
		sed 's/\\$//' | tr '\n' ' '
}

# in_private CMD: runs the command line CMD ("glournetd ..." with
# glournetd meaning our binary) in the namespace with private default
# paths, in $WORK (where the certificate is); it stops glournetd with
# SIGTERM once `glournetctl show stats` answers and writes what it saw.
in_private() {
	cat >"$WORK/inner.sh" <<EOF
set -u
# Fresh /run (so /run/glournet and /var/run/dpdk) and /var/lib: nothing is
# created on the real ones.
for d in /run /var/lib; do
	mount -t tmpfs tmpfs \$d || exit 9
done
# The token file the README's example reads, on a tmpfs of this namespace
# (the directory itself is made, and removed afterwards, if it is missing).
mount -t tmpfs -o mode=0700 tmpfs /etc/glournet || exit 9
(umask 077; echo eal-test-token >/etc/glournet/token)
cd "$WORK"
export TOKEN=eal-test-token
glournetd() { exec "$GLOURNETD" "\$@"; }
$1 >"$WORK/out.log" 2>&1 &
pid=\$!
for _ in \$(seq 100); do
	# (-j writes an error as JSON too: only an answer becomes stats.json)
	"$CTL" -j show stats >"$WORK/try.json" 2>/dev/null && mv "$WORK/try.json" "$WORK/stats.json" && break
	kill -0 \$pid 2>/dev/null || break
	sleep 0.1
done
"$CTL" show status >"$WORK/status.txt" 2>&1
kill -TERM \$pid 2>/dev/null
wait \$pid
echo \$? >"$WORK/rc"
EOF
	rm -f "$WORK/stats.json" "$WORK/status.txt" "$WORK/rc"
	local made=
	[ -d /etc/glournet ] || { mkdir -m 0700 /etc/glournet; made=1; }
	ip netns exec "$NS" unshare --mount --propagation private bash "$WORK/inner.sh"
	[ -z "$made" ] || rmdir /etc/glournet
}

for which in README help; do
	if [ $which = README ]; then cmd=$(readme_example); else cmd=$(help_example); fi
	case $cmd in "glournetd --token"*"-- "*"iface=veth0"*) ;; *) fail "$which example not found: '$cmd'" ;; esac
	in_private "$cmd"
	[ -s "$WORK/stats.json" ] || { cat "$WORK/out.log"; fail "$which example did not start: $cmd"; }
	jq -e '.port.link.up and (.workers | length) == 1' "$WORK/stats.json" >/dev/null ||
		fail "$which example: no worker or port: $(cat "$WORK/stats.json")"
	[ "$(cat "$WORK/rc")" = 0 ] || { cat "$WORK/out.log"; fail "$which example: exit $(cat "$WORK/rc") on SIGTERM"; }
	grep -q "EAL arguments added by glournetd: -m" "$WORK/out.log" ||
		fail "$which example: the log does not say what glournetd added to EAL"
	pass "the $which example starts as written and stops on SIGTERM: $cmd"
done

# refused CMD PART...: glournetd exits non-zero and its output has each PART.
refused() {
	local cmd=$1 part; shift
	in_private "$cmd"
	[ ! -s "$WORK/stats.json" ] || fail "started although refused: $cmd"
	for part in "$@"; do
		grep -qF -- "$part" "$WORK/out.log" ||
			{ cat "$WORK/out.log"; fail "'$cmd': no '$part' in its message"; }
	done
	pass "refused with the fix: $(grep -F -- "$1" "$WORK/out.log" | head -1 | cut -c26-)"
}
BASE="glournetd --token t -- -l 0,1 --no-huge --no-shconf --file-prefix gnbad --no-pci"
refused "$BASE --vdev net_af_packt0,iface=veth0" "no driver 'net_af_packt'" \
	"did you mean net_af_packet (e.g. --vdev net_af_packet0,iface=veth0)"
refused "$BASE --vdev net_af_packet0,iface=veth9" "there is no interface 'veth9'"
refused "$BASE --vdev net_af_packet0,ifac=veth0" "needs iface=NAME"
refused "$BASE --no-hugepages --vdev net_af_packet0,iface=veth0" "EAL refused an argument" \
	"glournetd's own options go before '--'"
refused "glournetd --token t -- -l 0 --no-huge --no-shconf --file-prefix gnbad --no-pci --vdev net_af_packet0,iface=veth0" \
	"need 1..64 worker lcores besides the main one (EAL -l 0,1)"
refused "glournetd --token t --mbufs 16383 -- -l 0,1 --no-huge -m 40 --no-shconf --file-prefix gnbad --no-pci --vdev net_af_packet0,iface=veth0" \
	"pass EAL -m 98"
