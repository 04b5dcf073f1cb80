#!/usr/bin/env bash
# Builds and packs one release archive, as the release workflow does for each target, and its
# SBOM: the binary at the archive's root (what the action, the GitLab template, the CI examples
# and cargo binstall unpack), and the CycloneDX SBOM of what is compiled into it for that target.
#
#   scripts/package.sh TARGET [OUT]     # OUT: where to write (default target/dist)
#
# Writes OUT/clanforge-wait-TARGET.tar.gz and OUT/clanforge-wait-TARGET.cdx.json. Needs
# cargo-cyclonedx (`cargo install --locked cargo-cyclonedx@0.5.9`).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: $0 TARGET [OUT]}
out=${2:-target/dist}
mkdir -p "$out"

cargo build --release --locked --quiet --target "$target"
bin=clanforge-wait
case "$target" in *windows*) bin=clanforge-wait.exe ;; esac
archive="clanforge-wait-$target.tar.gz"
tar -czf "$out/$archive" -C "target/$target/release" "$bin"

# cargo-cyclonedx writes beside Cargo.toml; the SBOM is moved beside the archive.
cargo cyclonedx --quiet --format json --spec-version 1.5 --no-build-deps --target "$target" --override-filename "clanforge-wait-$target.cdx"
mv "clanforge-wait-$target.cdx.json" "$out/"
# It writes one for the simulator's crate too, which the gate's SBOM already lists.
rm -f "crates/clanforge-sim/clanforge-wait-$target.cdx.json"
echo "$out/$archive $(sha256sum "$out/$archive" | cut -d' ' -f1)"
echo "$out/clanforge-wait-$target.cdx.json"
