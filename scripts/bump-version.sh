#!/usr/bin/env bash
# Sets the one version, Cargo.toml's, everywhere a user copies it from: the README, the book,
# the GitLab template, the container example, the other CIs' examples. A test (tests/readme.rs) fails on any other.
#
#   scripts/bump-version.sh 0.4.0
#
# Cutting a release: bump, move the CHANGELOG's [Unreleased] under the new version, commit;
# build the release archives (the release workflow); pin their checksums with
# scripts/pin-release.sh vVERSION OWNER/REPO checksums.txt; commit; tag vVERSION; push the tag;
# `cargo publish --workspace` (the simulator's crate, then the gate's, which depends on it).
set -euo pipefail
cd "$(dirname "$0")/.."

new=${1:?usage: $0 VERSION (e.g. 0.4.0)}
[[ "$new" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "bump-version: $new is not X.Y.Z" >&2; exit 2; }
old=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)

sed -i "0,/^version = \"$old\"/s//version = \"$new\"/" Cargo.toml
# The gate depends on exactly this version of the simulator its --demo serves.
sed -i "s/^\(clanforge-sim = { version = \"=\)$old\"/\1$new\"/" Cargo.toml
cargo update --quiet --workspace
files=(README.md ci/gitlab/clanforge-wait.yml Dockerfile ci/jenkins/Jenkinsfile ci/teamcity/settings.kts
  ci/azure/azure-pipelines.yml ci/buildkite/pipeline.yml ci/github/wait.yml ci/github/deploy.yml
  ci/gitlab/example.yml)
mapfile -t pages < <(find docs/src -name '*.md')
sed -i -E \
  -e "s#(clanforge-wait@v)[0-9]+\.[0-9]+\.[0-9]+#\1$new#g" \
  -e "s#(clanforge-wait/v)[0-9]+\.[0-9]+\.[0-9]+#\1$new#g" \
  -e "s#(clanforge-wait:)[0-9]+\.[0-9]+\.[0-9]+#\1$new#g" \
  -e "s#(CLANFORGE_WAIT_VERSION[\" :=,]*['\"]?v)[0-9]+\.[0-9]+\.[0-9]+#\1$new#g" \
  -e "s#(--branch v)[0-9]+\.[0-9]+\.[0-9]+#\1$new#g" \
  -e "s#(ACTION_REF=v)[0-9]+\.[0-9]+\.[0-9]+#\1$new#g" \
  "${files[@]}" "${pages[@]}"
echo "version $old -> $new; now: UPDATE_GOLDEN=1 cargo test --test readme (the man pages name it)"
