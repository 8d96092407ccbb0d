#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (a virtualenv with the
# project and its test extras, PostgreSQL from Debian packages if missing), starts a throwaway
# PostgreSQL on loopback, runs pytest, and stops the server by its PID whatever happens.
#
#   make test            (or: bash tests/run.sh [pytest args])
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

state=$(mktemp -d /tmp/revisit-tests.XXXXXX)
chmod 755 "$state"
port=${REVISIT_TEST_PG_PORT:-$((20000 + RANDOM % 20000))}
cleanup() {
  bash deploy/postgres.sh stop "$state/pg" || true
  rm -rf "$state"
}
trap cleanup EXIT

REVISIT_TEST_POSTGRES_URL=$(bash deploy/postgres.sh start "$state/pg" "$port")
export REVISIT_TEST_POSTGRES_URL
echo "tests: PostgreSQL at $REVISIT_TEST_POSTGRES_URL"

.venv/bin/python -m pytest -q "$@"
