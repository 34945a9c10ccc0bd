#!/usr/bin/env bash
# kill -9 at random moments of `suiji serve --until` (the daemon's rehearsal), N times, then let
# a rehearsal finish and check that nothing was lost or duplicated: one official draw with its
# 74 tasks, every job slot done once, the audit chain intact, the published history verified.
# CI runs a few trials as part of `cargo test`; this runs as many as asked (default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
SUIJI_CRASH_TRIALS="${1:-100}" TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-skip}" \
  cargo test --test daemon killed_at_random_moments -- --nocapture
