#!/usr/bin/env bash
# kill -9 at random moments, N times each (default 100), then check that nothing was lost or
# duplicated:
# - of `suiji serve --until` (the daemon's rehearsal): one official draw with its 74 tasks,
#   every job slot done once, the audit chain intact, the published history verified;
# - of `suiji outbox send` against a real SMTP server on loopback (aiosmtpd, so VERIFY_PYTHON
#   or python3 must have it): every notice received, a duplicate only for a kill between the
#   server's acceptance and the mark, with the same Message-ID.
# CI runs a few trials of each as part of `cargo test`; this runs as many as asked.
set -euo pipefail
cd "$(dirname "$0")/.."
SUIJI_CRASH_TRIALS="${1:-100}" TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-skip}" \
  cargo test --test daemon killed_at_random_moments -- --nocapture
SUIJI_CRASH_TRIALS="${1:-100}" TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-skip}" \
  cargo test --test notify killed_while_delivering -- --nocapture
