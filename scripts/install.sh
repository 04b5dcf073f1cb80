#!/usr/bin/env bash
# Installs clanforge-wait for the runner this step runs on: the prebuilt binary from the
# action's own GitHub release, checked against the SHA-256 pinned in the action's own source at
# that ref (dist/checksums.txt, which the release process commits), and against its
# build-provenance attestation where `gh` and a token are at hand; or, when that ref has no
# release or pins no checksum (a branch, a commit, `uses: ./`), a build from the action's
# source with cargo. A checksum published beside the download is never trusted: whoever could
# replace the archive could replace it too.
#
# Inputs, all from the environment:
#   ACTION_REPOSITORY, ACTION_REF   the action's repository and ref (github.action_*)
#   GITHUB_ACTION_PATH              the action's source, for the fallback build
#   RUNNER_OS, RUNNER_ARCH          which binary to fetch (else uname)
#   CLANFORGE_WAIT_DOWNLOAD_BASE    where this ref's release assets are (default: the
#                                   repository's release of ACTION_REF; a mirror, say)
#   CLANFORGE_WAIT_INSTALL_DIR      where to install (default: $RUNNER_TEMP/clanforge-wait)
#   GITHUB_PATH                     receives the bin folder, so later steps find the binary
#   GH_TOKEN                        lets `gh attestation verify` check the download's provenance
set -euo pipefail

repo="${ACTION_REPOSITORY:-}"
ref="${ACTION_REF:-}"
action_path="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
install_dir="${CLANFORGE_WAIT_INSTALL_DIR:-${RUNNER_TEMP:-/tmp}/clanforge-wait}"
base="${CLANFORGE_WAIT_DOWNLOAD_BASE:-https://github.com/$repo/releases/download/$ref}"
checksums="$action_path/dist/checksums.txt"

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

# The SHA-256 the action's source pins for an archive, if any.
pinned() {
  if [ -f "$checksums" ]; then
    awk -v name="$1" '$2 == name || $2 == "*" name { print $1; exit }' "$checksums"
  fi
}

from_source() {
  say "$1: building from source with cargo (a minute or two)"
  "${CARGO:-cargo}" install --locked --quiet --path "$action_path" --root "$install_dir"
}

mkdir -p "$install_dir/bin"
target=$(target)
archive="clanforge-wait-$target.tar.gz"
if [ -z "${CLANFORGE_WAIT_DOWNLOAD_BASE:-}" ] && { [ -z "$repo" ] || [ -z "$ref" ]; }; then
  from_source "no release ref (a local action)"
elif [ -z "$target" ]; then
  from_source "no prebuilt binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"
elif [ -z "$(pinned "$archive")" ]; then
  from_source "no SHA-256 for $archive is pinned in the action's source at $ref ($checksums)"
else
  expected=$(pinned "$archive")
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
  actual=$(sha256 "$tmp/$archive")
  if [ "$expected" != "$actual" ]; then
    say "checksum mismatch for $archive: the action pins $expected (dist/checksums.txt at" \
      "$ref), the download from $base is $actual: refusing it"
    exit 1
  fi
  if command -v gh >/dev/null 2>&1 && [ -n "${GH_TOKEN:-}" ] && [ -n "$repo" ]; then
    if ! gh attestation verify "$tmp/$archive" --repo "$repo" >/dev/null; then
      say "the build-provenance attestation of $archive does not verify for $repo: refusing it"
      exit 1
    fi
    say "build provenance of $archive verified (gh attestation verify)"
  fi
  tar -xzf "$tmp/$archive" -C "$install_dir/bin"
  say "installed $archive ($actual) into $install_dir/bin"
fi
echo "$install_dir/bin" >>"${GITHUB_PATH:-/dev/null}"
