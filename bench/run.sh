#!/usr/bin/env bash
# `make bench`: HMS against the floor on a throwaway PostgreSQL whose data dir (bench/.data/pg, with
# the scale-1 data) is kept between runs. Bounded: the whole run is stopped after 50 minutes
# (it takes about 40).
#   BENCH_SECONDS=3 BENCH_ROUNDS=1 bench/run.sh    # quick smoke run
#   FLOOR_DIR=/path/to/shared/floor bench/run.sh   # when ../shared/floor is elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/.data
if ! command -v wrk >/dev/null || ! command -v redis-server >/dev/null; then
  echo "bench: installing Debian's wrk and redis-server" >&2
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk redis-server >&2
fi
export PG_KEEP_DIR=${PG_KEEP_DIR:-$PWD/bench/.data/pg}
export HMS_TESTING=0
exec timeout --signal=TERM --kill-after=30s "${BENCH_TIMEOUT:-50m}" bin/with-postgres .venv/bin/python bench/bench.py
