#!/usr/bin/env bash
# Builds the .deb (cargo-deb) and, when cargo-generate-rpm is installed, the .rpm of suiji from
# Cargo.toml's package metadata: the stripped release binary, the systemd unit, the
# configuration in /etc/suiji (a conffile), the env file for secrets (0600), the reference
# plans, holiday data and templates in /usr/share/suiji, the manual pages and completions.
#   tools/package.sh [--target TRIPLE]     # e.g. aarch64-unknown-linux-gnu (README)
# The packaging tools are looked for on PATH, then in target/tools/bin (where .ci/run puts them).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$PWD/target/tools/bin"
target=()
if [ "${1:-}" = "--target" ]; then
  target=(--target "$2")
fi
cargo build --release --locked "${target[@]}"
# Manual pages and completions come from the binary itself (the host's, to run it).
host=target/release/suiji
[ -x "$host" ] || cargo build --release --locked
rm -rf target/assets && mkdir -p target/assets/man target/assets/completions
"$host" man --out target/assets/man
"$host" completions bash > target/assets/completions/suiji.bash
"$host" completions zsh > target/assets/completions/_suiji
"$host" completions fish > target/assets/completions/suiji.fish
# With --target, cargo-deb and cargo-generate-rpm read target/TRIPLE/release/ for the
# assets under target/release/.
mkdir -p target/debian target/rpm
cargo deb --no-build "${target[@]}" --output target/debian/
if command -v cargo-generate-rpm >/dev/null; then
  cargo generate-rpm "${target[@]}" --output target/rpm/
fi
ls -l target/debian/*.deb target/rpm/*.rpm 2>/dev/null || true
