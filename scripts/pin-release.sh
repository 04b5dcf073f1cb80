#!/usr/bin/env bash
# Pins a release in the source: the release process runs it on the commit it is about to tag,
# so that the action and the GitLab template at that tag trust only these checksums.
#
#   scripts/pin-release.sh VERSION OWNER/REPO CHECKSUMS
#
# CHECKSUMS is `sha256sum` output for the release archives (clanforge-wait-<target>.tar.gz).
# Writes dist/checksums.txt (read by the action's install step) and, in
# ci/gitlab/clanforge-wait.yml, the version, the repository (the one place the owner is named:
# a fork's release names itself) and the SHA-256 of each Linux archive; in the Jenkins,
# TeamCity, Azure Pipelines and Buildkite examples, the version, the repository and the Linux
# x86_64 archive's SHA-256 (CLANFORGE_WAIT_SHA256); in Cargo.toml, the repository's links.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 VERSION OWNER/REPO CHECKSUMS" >&2
  exit 2
fi
version=$1 repository=$2 sums=$3
cd "$(dirname "$0")/.."

case "$version" in
  v[0-9]*) ;;
  *) echo "pin-release: VERSION must look like v1.2.3, not $version" >&2; exit 2 ;;
esac
case "$repository" in
  */*) ;;
  *) echo "pin-release: OWNER/REPO must name a repository, not $repository" >&2; exit 2 ;;
esac

# The checksum of one archive, from the list; the name may carry sha256sum's binary-mode `*`.
sum_of() {
  awk -v name="clanforge-wait-$1.tar.gz" '$2 == name || $2 == "*" name { print $1; exit }' "$sums"
}

linux_x64=$(sum_of x86_64-unknown-linux-musl)
linux_arm64=$(sum_of aarch64-unknown-linux-musl)
for sum in "$linux_x64" "$linux_arm64"; do
  if ! [[ "$sum" =~ ^[0-9a-f]{64}$ ]]; then
    echo "pin-release: $sums lacks a SHA-256 for a Linux archive" >&2
    exit 1
  fi
done

{
  sed -n '/^#/p' dist/checksums.txt
  grep -E '^[0-9a-f]{64} [ *]clanforge-wait-[A-Za-z0-9_.-]+\.tar\.gz$' "$sums"
} >dist/checksums.txt.new
mv dist/checksums.txt.new dist/checksums.txt

template=ci/gitlab/clanforge-wait.yml
sed -i.bak \
  -e "s|^\(    CLANFORGE_WAIT_VERSION:\).*|\1 $version|" \
  -e "s|^\(    CLANFORGE_WAIT_REPOSITORY:\).*|\1 $repository|" \
  -e "s|^\(    CLANFORGE_WAIT_SHA256_X86_64:\).*|\1 \"$linux_x64\"|" \
  -e "s|^\(    CLANFORGE_WAIT_SHA256_AARCH64:\).*|\1 \"$linux_arm64\"|" \
  -e "s|githubusercontent.com/[^/]*/[^/]*/[^/]*/ci/gitlab|githubusercontent.com/$repository/$version/ci/gitlab|" \
  "$template"
rm -f "$template.bak"

# The crate's links (and with them cargo binstall's download URL, `{ repo }`).
sed -i.bak -E \
  -e "s#^(repository = \"https://github.com/)[^\"]*\"#\1$repository\"#" \
  -e "s#^(documentation = \"https://github.com/)[^/]+/[^/]+/#\1$repository/#" \
  Cargo.toml
rm -f Cargo.toml.bak

# The other CIs' examples, each in its own quoting: NAME = 'v', param("env.NAME", "v"), NAME: v.
for example in ci/jenkins/Jenkinsfile ci/teamcity/settings.kts ci/azure/azure-pipelines.yml \
  ci/buildkite/pipeline.yml; do
  sed -i.bak -E \
    -e "s#(CLANFORGE_WAIT_VERSION[\" :=,]*['\"]?)v[0-9][0-9A-Za-z.-]*#\1$version#" \
    -e "s#(CLANFORGE_WAIT_REPOSITORY[\" :=,]*['\"]?)[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+#\1$repository#" \
    -e "s#(CLANFORGE_WAIT_SHA256[\" :=,]*)(['\"])[0-9a-f]*(['\"])#\1\2$linux_x64\3#" \
    "$example"
  rm -f "$example.bak"
done
echo "pinned $version of $repository: $(grep -c '^[0-9a-f]' dist/checksums.txt) archives"
