#!/usr/bin/env bash
# Builds the gate from what the container build sees, without Docker: the files .dockerignore
# lets through (it ignores everything, then names what to keep with `!`), copied as the
# Dockerfile copies them, and `cargo build --locked` there. A source the build needs and the
# context leaves out (a new crate, say) fails here instead of in the release workflow.
set -euo pipefail
cd "$(dirname "$0")/.."

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
[ "$(grep -v '^#' .dockerignore | grep -v '^!' | grep -v '^$')" = "*" ] \
  || { echo "docker-context: .dockerignore must ignore '*' and name what it keeps" >&2; exit 1; }
while read -r kept; do
  kept=${kept#!}
  mkdir -p "$context/$(dirname "$kept")"
  cp -R "$kept" "$context/${kept%/}"
done < <(grep '^!' .dockerignore)
# The Dockerfile's COPY lines take only what the context holds; each must be there.
while read -r from; do
  [ -e "$context/$from" ] || { echo "docker-context: the Dockerfile copies $from, which .dockerignore leaves out" >&2; exit 1; }
done < <(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' Dockerfile)
target="$PWD/target/docker-context"
(cd "$context" && CARGO_TARGET_DIR="$target" cargo build --locked --quiet --bin clanforge-wait)
echo "docker-context: the container's build context builds the gate"
