#!/usr/bin/env bash
# Prints the path of a `promtool` (Prometheus' config and rule checker), for tests and local checks:
# the one on PATH, else one unpacked earlier into the cache, else Debian's `prometheus` package
# downloaded with apt-get and unpacked into the cache (no service installed, nothing started).
#
#   deploy/promtool.sh            → /root/.cache/revisit/prometheus/usr/bin/promtool
#   $(deploy/promtool.sh) test rules deploy/prometheus/rules_test.yml
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
cache=${REVISIT_CACHE:-$HOME/.cache/revisit}/prometheus
if [ -x "$cache/usr/bin/promtool" ]; then
  echo "$cache/usr/bin/promtool"
  exit 0
fi
mkdir -p "$cache"
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
echo "promtool.sh: downloading Debian's prometheus package for promtool" >&2
if ! (cd "$download" && apt-get download prometheus >&2 2>/dev/null); then
  apt-get update -qq >&2 || true  # package lists may be missing on a fresh machine
  (cd "$download" && apt-get download prometheus >&2)
fi
dpkg-deb -x "$download"/prometheus_*.deb "$cache"
"$cache/usr/bin/promtool" --version >/dev/null
echo "$cache/usr/bin/promtool"
