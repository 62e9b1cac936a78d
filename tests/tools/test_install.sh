#!/usr/bin/env bash
# meson install (issue 14, packaging): into a scratch --destdir, each thing
# where it belongs: glournetd in sbin (and not in bin), glournetctl,
# glournet-agent and glournet-loadgen in bin, the systemd unit with the
# install's paths (Type=notify, ExecStart the installed glournetd with the
# installed configuration path) that `systemd-analyze verify` accepts
# without a word, both man pages, the bash completion generated from the
# command table, and the example configuration with its drop-ins, which the
# installed glournetd --check accepts.
# Usage: test_install.sh BUILD PREFIX BINDIR SBINDIR MANDIR DATADIR SYSCONFDIR
set -euo pipefail
BUILD=$1 PREFIX=$2 BINDIR=$3 SBINDIR=$4 MANDIR=$5 DATADIR=$6 SYSCONFDIR=$7
D=$(mktemp -d /tmp/gn-ops-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
abs() { case $1 in /*) echo "$1" ;; *) echo "$PREFIX/$1" ;; esac; }
BIN=$(abs "$BINDIR") SBIN=$(abs "$SBINDIR") MAN=$(abs "$MANDIR") DATA=$(abs "$DATADIR")
ETC=$(abs "$SYSCONFDIR")

meson install -C "$BUILD" --no-rebuild --destdir "$D" --quiet >"$D.log" 2>&1 ||
	{ cat "$D.log"; rm -f "$D.log"; fail "meson install"; }
rm -f "$D.log"
R=$D
want() { [ -f "$R$1" ] || fail "not installed: $1 (installed: $(cd "$R" && find . -type f | sort | tr '\n' ' '))"; }
want_x() { want "$1"; [ -x "$R$1" ] || fail "not executable: $1"; }

want_x "$SBIN/glournetd"
[ ! -e "$R$BIN/glournetd" ] || fail "glournetd in bin too"
for t in glournetctl glournet-agent glournet-loadgen; do want_x "$BIN/$t"; done
pass "glournetd in $SBIN; glournetctl, glournet-agent, glournet-loadgen in $BIN"

UNIT=$PREFIX/lib/systemd/system/glournetd.service
want "$UNIT"
grep -qx "Type=notify" "$R$UNIT" || fail "the unit is not Type=notify"
grep -qx "ExecStart=$SBIN/glournetd --config $ETC/glournet/glournetd.yaml" "$R$UNIT" ||
	fail "ExecStart: $(grep ExecStart= "$R$UNIT")"
for k in WatchdogSec=30s StateDirectory=glournet RuntimeDirectory=glournet \
	'ExecStartPre=/usr/bin/dpdk-hugepages.py --mount'; do
	grep -qx -- "$k" "$R$UNIT" || fail "the unit lacks $k"
done
! grep -q '@[a-z]*@' "$R$UNIT" || fail "unsubstituted: $(grep '@[a-z]*@' "$R$UNIT")"
if command -v systemd-analyze >/dev/null; then
	# The unit as it is, its programs' paths moved into the destdir, so
	# that verify can look at the installed glournetd.
	mkdir -p "$D/verify"
	sed "s|$PREFIX/|$R$PREFIX/|g" "$R$UNIT" >"$D/verify/glournetd.service"
	out=$(systemd-analyze verify --man=no "$D/verify/glournetd.service" 2>&1) ||
		fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify says: $out"
	pass "$UNIT: Type=notify, $(grep ExecStart= "$R$UNIT"); systemd-analyze verify: no complaint"
else
	pass "$UNIT: Type=notify (no systemd-analyze here to verify it)"
fi

want "$MAN/man8/glournetd.8"
want "$MAN/man1/glournetctl.1"
if command -v man >/dev/null; then
	w=$(man -l --warnings "$R$MAN/man8/glournetd.8" 2>&1 >/dev/null) || true
	[ -z "$w" ] || fail "glournetd.8: $w"
fi
pass "man pages: man8/glournetd.8, man1/glournetctl.1"

COMP=$DATA/bash-completion/completions/glournetctl
want "$COMP"
grep -q "complete .*glournetctl" "$R$COMP" || fail "the completion file: $(head -3 "$R$COMP")"
pass "bash completion: $COMP"

EX=$DATA/doc/glournet/examples
for f in glournetd.yaml hugepages.conf vfio.conf; do want "$EX/$f"; done
echo "install-token-$$" >"$D/token"
chmod 0600 "$D/token"
out=$("$R$SBIN/glournetd" --check --config "$R$EX/glournetd.yaml" --token-file "$D/token" 2>&1) ||
	fail "the installed glournetd refuses the installed example: $out"
pass "examples in $EX; the installed glournetd --check: $(head -1 <<<"$out")"
