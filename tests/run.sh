#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (a virtualenv with the
# project and its test extras; PostgreSQL, Chromium and a Japanese font from Debian packages if
# missing; Apache Kafka jars from Maven Central; promtool from Debian's prometheus package), starts a
# throwaway PostgreSQL and a single-node KRaft broker on loopback, runs pytest, and stops both
# servers by their PIDs whatever happens.
#
#   make test            (or: bash tests/run.sh [pytest args])
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# The code-quality gates (settings in pyproject.toml): lint and format, the import layers
# (README, "Architecture"), and types.
echo "tests: ruff, import-linter, mypy"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
.venv/bin/mypy

# The web UI tests drive Debian's Chromium (Playwright talks to it; no browser is downloaded), with
# a Japanese font so that screenshots show the names.
if ! command -v chromium >/dev/null 2>&1 || [ -z "$(fc-list :lang=ja 2>/dev/null)" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "tests: installing chromium and a Japanese font from Debian packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null 2>&1 || {
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null
    }
  else
    echo "tests: chromium or a Japanese font is missing (apt-get install chromium fonts-ipafont-gothic)" >&2
  fi
fi

# axe-core (the accessibility rules engine) for the web UI's browser tests, from the npm registry
# into .test-tools/ (a test tool only: the product never loads it).
if [ ! -f .test-tools/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1; }; then
    echo "tests: installing axe-core into .test-tools/"
    npm install --silent --no-audit --no-fund --prefix .test-tools axe-core@4.14.1 >/dev/null
  else
    echo "tests: npm is missing (apt-get install npm): the accessibility tests need axe-core" >&2
  fi
fi

state=$(mktemp -d /tmp/revisit-tests.XXXXXX)
chmod 755 "$state"
port=${REVISIT_TEST_PG_PORT:-$((20000 + RANDOM % 20000))}
kafka_port=${REVISIT_TEST_KAFKA_PORT:-$((port + 2))}
cleanup() {
  bash deploy/kafka.sh stop "$state/kafka" || true
  bash deploy/postgres.sh stop "$state/pg" || true
  rm -rf "$state"
}
trap cleanup EXIT

REVISIT_TEST_POSTGRES_URL=$(bash deploy/postgres.sh start "$state/pg" "$port")
export REVISIT_TEST_POSTGRES_URL
echo "tests: PostgreSQL at $REVISIT_TEST_POSTGRES_URL"
REVISIT_TEST_KAFKA=$(bash deploy/kafka.sh start "$state/kafka" "$kafka_port")
export REVISIT_TEST_KAFKA
echo "tests: Apache Kafka at $REVISIT_TEST_KAFKA"

REVISIT_PROMTOOL=$(bash deploy/promtool.sh)
export REVISIT_PROMTOOL
echo "tests: promtool at $REVISIT_PROMTOOL"

.venv/bin/python -m pytest -q "$@"
