#!/usr/bin/env bash
# debian/: the Debian package of glournet (dh, meson).
#  Always (well under a second): debian/changelog's version is meson.build's
#  (a version bump cannot forget the package); debian/control parses and
#  its build dependencies are installed (dpkg-checkbuilddeps), and each is
#  in tools/setup-deps.sh, so the machine that runs the tests can build it.
#  With GLOURNET_TEST_DEB=1 only (it takes minutes on 2 cores: a whole
#  build and the unit tests): dpkg-buildpackage -b in a copy of the tree,
#  and the .deb holds the daemon in sbin, the tools in bin, the unit in
#  /lib/systemd/system (not enabled), the man pages, the completion and
#  the example configuration. Skipped otherwise (said so).
set -euo pipefail
SRC=$1 VERSION=$2
fail() { echo "FAIL: $*"; exit 1; }
command -v dpkg-parsechangelog >/dev/null || { echo "SKIP: no dpkg-dev"; exit 77; }

v=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
[ "$v" = "$VERSION" ] || fail "debian/changelog is $v, meson.build $VERSION: add a changelog entry (dch -v $VERSION)"
echo "ok: debian/changelog $v = meson.build's version"

(cd "$SRC" && dpkg-checkbuilddeps) || fail "dpkg-checkbuilddeps: the build dependencies above are missing (tools/setup-deps.sh)"
deps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$SRC/debian/control" | sed '$d' | sed 's/^Build-Depends://' |
	tr ',' '\n' | sed 's/[(<].*//; s/^ *//; s/ *$//; s/^debhelper-compat$/debhelper/' | grep .)
for d in $deps; do
	grep -qE "(^|[[:space:]])$d([[:space:]]|$)" "$SRC/tools/setup-deps.sh" || fail "build dependency $d is not in tools/setup-deps.sh"
done
echo "ok: debian/control parses; its $(wc -w <<<"$deps") build dependencies are installed and in tools/setup-deps.sh"

if [ "${GLOURNET_TEST_DEB:-0}" != 1 ]; then
	echo "skipped: building the package (minutes); GLOURNET_TEST_DEB=1 builds it"
	exit 0
fi
W=$(mktemp -d /tmp/glournet-deb.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir "$W/glournet"
(cd "$SRC" && git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T -) | tar -xf - -C "$W/glournet"
(cd "$W/glournet" && dpkg-buildpackage -us -uc -b -j2 >"$W/build.log" 2>&1) || { tail -40 "$W/build.log"; fail "dpkg-buildpackage"; }
deb=$W/glournet_${VERSION}_$(dpkg --print-architecture).deb
files=$(dpkg -c "$deb" | awk '{print $6}')
for f in ./usr/sbin/glournetd ./usr/bin/glournetctl ./usr/bin/glournet-agent ./usr/bin/glournet-loadgen \
	./lib/systemd/system/glournetd.service ./usr/share/man/man8/glournetd.8.gz \
	./usr/share/man/man1/glournetctl.1.gz ./usr/share/bash-completion/completions/glournetctl \
	./usr/share/doc/glournet/examples/glournetd.yaml; do
	grep -qxF "$f" <<<"$files" || fail "$f not in the package: $files"
done
dpkg-deb -f "$deb" Depends | grep -q 'librte-eal' || fail "Depends lacks DPDK: $(dpkg-deb -f "$deb" Depends)"
dpkg-deb -e "$deb" "$W/ctl"
! grep -q "deb-systemd-invoke.*start" "$W/ctl/postinst" || fail "postinst starts glournetd before it is configured"
echo "ok: $(basename "$deb"): $(wc -l <<<"$files") paths, daemon, tools, unit (not started), man pages, completion, examples"
echo PASS
