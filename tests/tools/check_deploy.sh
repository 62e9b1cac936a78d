#!/usr/bin/env bash
# deploy/ (docs/metrics.md): the Prometheus alerting rules parse (promtool
# check rules) and pass their unit tests (promtool test rules), every alert
# with a case where it fires and one where it does not; the Grafana
# dashboard is JSON whose every query parses as PromQL; and every metric
# name the rules, their tests and the dashboard use is a family that
# docs/metrics.md documents (the integration test integration-metrics-veth
# checks the documented families against a real scrape).
set -euo pipefail
SRC=${1:?source root}
command -v promtool >/dev/null ||
	{ echo "promtool not installed (tools/setup-deps.sh installs prometheus)"; exit 1; }
CHECK="python3 $SRC/tests/tools/metrics_check.py"
TMP=$(mktemp -d /tmp/gn-deploy.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cd "$SRC/deploy/prometheus"
promtool check rules glournet-rules.yml
promtool test rules tests/*.yml
$CHECK alerts glournet-rules.yml tests/*.yml
$CHECK dashboard-rules "$SRC/deploy/grafana/glournet.json" "$TMP/dashboard-rules.yml"
promtool check rules "$TMP/dashboard-rules.yml"
$CHECK names "$SRC/docs/metrics.md" glournet-rules.yml tests/*.yml "$SRC/deploy/grafana/glournet.json"
echo "ok: rules, their tests and the dashboard"
