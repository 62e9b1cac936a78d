#!/usr/bin/env bash
# Installs, with apt, everything glournet's build, tests and demo need on a
# fresh Debian 12 machine. Idempotent: quiet when everything is present.
set -euo pipefail

PKGS=(
  build-essential pkg-config meson ninja-build   # build
  libdpdk-dev dpdk                                # dataplane (PMDs, EAL)
  liburcu-dev                                     # QSBR RCU between workers and control
  libjemalloc-dev                                 # control-plane allocator
  libsodium-dev                                   # SipHash-2-4 MAC, random keys
  libgnutls28-dev                                 # HTTPS certificates reloaded on SIGHUP (control/tls_certs.c)
  libmicrohttpd-dev                               # HTTP(S) registration server
  libjansson-dev                                  # JSON bodies and CLI output
  libcurl4-openssl-dev                            # reference agent HTTP client
  libedit-dev                                     # glournetctl's prompt: line editing, history, completion
  libsqlite3-dev                                  # the embedded store
  libpq-dev                                       # the PostgreSQL store (--store postgresql://..., control/store_pg.c)
  # Debian's postgresql-15 also makes a cluster 'main' and, where systemd runs,
  # starts it on port 5432; the test uses neither (`systemctl disable --now postgresql`).
  postgresql-15                                   # integration-store-pg: a throwaway cluster (initdb, pg_ctl; no service needed)
  # pg_auto_failover (pg_autoctl and the monitor's extension): a monitor, a
  # primary and a synchronous standby that fail over by themselves, so the
  # tests kill the store's primary as a crash would (integration-fleet-failover).
  postgresql-15-auto-failover
  libyaml-dev                                     # glournetd's configuration file (--config, control/config_file.c)
  libsystemd-dev                                  # sd_notify: Type=notify readiness, watchdog, stopping (control/daemon_service.c)
  openssl                                         # self-signed demo certificate
  libcmocka-dev                                   # unit tests
  debhelper dpkg-dev                              # the Debian package (debian/: dpkg-buildpackage -b; the deb test)
  clang-format                                    # the style check (structure-style)
  iproute2 curl procps python3 jq                 # integration tests and demo
  ethtool iputils-ping                            # lab veths with whole checksums; ping through the exception path
  mount e2fsprogs util-linux                      # store tests: a loop-mounted ext4 (losetup, mkfs.ext4)
  ethtool                                         # lab veths: checksums computed by the sender (tools/lab-net.sh)
  # Debian 12 ships promtool only in prometheus, which also enables a Prometheus
  # server (port 9090) where systemd runs: `systemctl disable --now prometheus`.
  prometheus                                      # promtool: the metrics scrape, the alerting rules and their tests
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
