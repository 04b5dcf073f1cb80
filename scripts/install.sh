#!/usr/bin/env bash
# Installs clanforge-wait for the runner this step runs on: the prebuilt binary from the
# action's own GitHub release, checked against its SHA-256; or, when that ref has no release
# (a branch, a commit, `uses: ./`), a build from the action's source with cargo.
#
# Inputs, all from the environment:
#   ACTION_REPOSITORY, ACTION_REF   the action's repository and ref (github.action_*)
#   GITHUB_ACTION_PATH              the action's source, for the fallback build
#   RUNNER_OS, RUNNER_ARCH          which binary to fetch (else uname)
#   CLANFORGE_WAIT_DOWNLOAD_BASE    where releases are (default: the repository's releases)
#   CLANFORGE_WAIT_INSTALL_DIR      where to install (default: $RUNNER_TEMP/clanforge-wait)
#   GITHUB_PATH                     receives the bin folder, so later steps find the binary
set -euo pipefail

repo="${ACTION_REPOSITORY:-}"
ref="${ACTION_REF:-}"
action_path="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
install_dir="${CLANFORGE_WAIT_INSTALL_DIR:-${RUNNER_TEMP:-/tmp}/clanforge-wait}"
base="${CLANFORGE_WAIT_DOWNLOAD_BASE:-https://github.com/$repo/releases/download/$ref}"

say() { echo "clanforge-wait install: $*" >&2; }

target() {
  case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64 | Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
    *) echo "" ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

from_source() {
  say "$1: building from source with cargo (a minute or two)"
  "${CARGO:-cargo}" install --locked --quiet --path "$action_path" --root "$install_dir"
}

mkdir -p "$install_dir/bin"
target=$(target)
archive="clanforge-wait-$target.tar.gz"
if [ -z "$repo" ] || [ -z "$ref" ]; then
  from_source "no release ref (a local action)"
elif [ -z "$target" ]; then
  from_source "no prebuilt binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  status=$(curl -sSL --retry 3 -w '%{http_code}' -o "$tmp/$archive" "$base/$archive") || status=000
  case "$status" in
    200) ;;
    404)
      from_source "$ref has no release asset $archive"
      echo "$install_dir/bin" >>"${GITHUB_PATH:-/dev/null}"
      exit 0
      ;;
    *)
      say "could not download $base/$archive (HTTP $status)"
      exit 1
      ;;
  esac
  if ! curl -fsSL --retry 3 -o "$tmp/$archive.sha256" "$base/$archive.sha256"; then
    say "could not download $base/$archive.sha256: refusing an unverified binary"
    exit 1
  fi
  expected=$(cut -d' ' -f1 <"$tmp/$archive.sha256")
  actual=$(sha256 "$tmp/$archive")
  if [ "$expected" != "$actual" ]; then
    say "checksum mismatch for $archive: expected $expected, got $actual"
    exit 1
  fi
  tar -xzf "$tmp/$archive" -C "$install_dir/bin"
  say "installed $archive ($actual) into $install_dir/bin"
fi
echo "$install_dir/bin" >>"${GITHUB_PATH:-/dev/null}"
