#!/usr/bin/env bash
# The GitLab template, end to end, under gitlab-ci-local (shell executor): a pipeline includes
# ci/gitlab/clanforge-wait.yml, installs the binary from a local release server (checked
# against the SHA-256 pinned for the version) and waits on the simulated API. The dotenv report
# reaches the next job on success and on failure, and the JUnit report names a failed job; a
# tampered archive whose .sha256 was tampered to match stops the job before anything runs; an image with curl only, and one with wget only,
# both work; an archive or binary left in the workspace by an earlier job is never used.
#
#   bash tests/runners/gitlab.sh      (run by .ci/run; installs gitlab-ci-local from npm)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
started=$SECONDS
. tests/runners/common.sh

gcl=$root/target/runners-npm/node_modules/.bin/gitlab-ci-local
if [ ! -x "$gcl" ]; then
  # 4.73.0 is the newest that runs on Node 20.
  npm install --silent --no-audit --no-fund --prefix target/runners-npm gitlab-ci-local@4.73.0
fi
command -v rsync >/dev/null || {
  echo "gitlab-ci-local needs rsync" >&2
  exit 1
}

work=$(mktemp -d)
trap 'stop_servers; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
start_release_server "$work/releases"
start_sim_server "$work"
genuine=$(pack_release "$work/releases/v0.0.0-test" target/debug/clanforge-wait)
# The same version, replaced after the release along with its .sha256.
pack_release "$work/releases/tampered/v0.0.0-test" tests/runners/not-clanforge-wait.sh >/dev/null

# Images with only curl, or only wget, as PATHs holding just what such an image would.
toolbox() {
  local dir=$work/$1 tool
  shift
  mkdir -p "$dir"
  for tool in sh bash dash env cat mkdir mktemp rm uname cut sha256sum tar gzip "$@"; do
    ln -sf "$(command -v "$tool")" "$dir/$tool"
  done
  echo "$dir"
}
curl_only=$(toolbox curl-only curl)
wget_only=$(toolbox wget-only wget)

project=$work/project
mkdir -p "$project"
cp ci/gitlab/clanforge-wait.yml "$project/clanforge-wait.yml"
sed -e "s|@RELEASES@|$RELEASES|g" -e "s|@SIM@|$SIM|g" -e "s|@SHA256@|$genuine|g" \
  -e "s|@CURL_ONLY@|$curl_only|g" -e "s|@WGET_ONLY@|$wget_only|g" \
  tests/runners/gitlab-ci.yml >"$project/.gitlab-ci.yml"
git -C "$project" init -q
git -C "$project" add -A
git -C "$project" -c user.name=ci -c user.email=ci@example.com commit -qm e2e

log=$work/gitlab.log
(cd "$project" && timeout 300 "$gcl" --force-shell-executor --shell-isolation \
  --variable CLANFORGE_ACCESS_KEY=AKIA-gl-XYZZY \
  --variable CLANFORGE_SECRET_KEY=s3cr3t-gl-PLUGH >"$log" 2>&1) || true

has() { grep -qF -- "$1" "$log"; }
# A line that job JOB printed holds TEXT.
said() { grep -E "^$1 +> " "$log" | grep -qF -- "$2"; }
# gitlab-ci-local's summary: PASS, FAIL, or WARN (failed, allowed to).
ended() { grep -qE "^ $2  $1 *( |$)" "$log"; }
check "a gate that completes passes its job" ended wait-ok PASS
check "its dotenv report reaches the next job" said after-ok "result=success update=1"
check "a failed job fails its gate" ended wait-fails WARN
check "its dotenv report reaches the next job too" said after-fail "result=failed"
check "server text forges no dotenv line" said after-fail "error has the server's text: yes"
check "the template's JUnit report names the failed job" grep -qF '<failure message="update/666: failed: ' \
  "$project/.gitlab-ci-local/builds/wait-fails/clanforge-wait.xml"
check "an image with curl only works" ended curl-only PASS
check "an image with wget only works" ended wget-only PASS
check "an archive and a binary left in the workspace are never used" ended stale-workspace PASS
check "the stale binary never ran" bash -c "! grep -E '^stale-workspace +> STALE BINARY RAN' '$log'"
check "a tampered archive with a matching .sha256 stops the job" ended tampered WARN
check "with the reason" has "checksum mismatch for $RELEASES/tampered/v0.0.0-test/clanforge-wait-x86_64-unknown-linux-musl.tar.gz"
check "and the tampered binary never ran" bash -c "! grep -E '^tampered +> TAMPERED BINARY RAN' '$log'"
check "the next job learns why" said after-tampered "result=error"
check "a download that fails says what and where" has "could not download $RELEASES/v9.9.9/"
check "neither key shows in the log" bash -c "! grep -E 'AKIA-gl-XYZZY|s3cr3t-gl-PLUGH' '$log'"

# The book's example pipeline (ci/gitlab/example.yml), as a studio pastes it: the template
# included from this source instead of its release URL; what a studio sets as CI/CD variables
# (which outrank the template's own) points it at the release server and the simulator.
example=$work/example
mkdir -p "$example"
cp ci/gitlab/clanforge-wait.yml "$example/clanforge-wait.yml"
sed -e 's|^  - remote: https://raw.githubusercontent.com/.*/ci/gitlab/clanforge-wait.yml$|  - local: clanforge-wait.yml|' \
  ci/gitlab/example.yml >"$example/.gitlab-ci.yml"
grep -q '^  - local: clanforge-wait.yml$' "$example/.gitlab-ci.yml"
printf '#!/bin/sh\necho EXAMPLE-ROLLED-OUT\n' >"$example/rollout.sh"
chmod +x "$example/rollout.sh"
git -C "$example" init -q
git -C "$example" add -A
git -C "$example" -c user.name=ci -c user.email=ci@example.com commit -qm example
log=$work/example.log
(cd "$example" && timeout 300 "$gcl" --force-shell-executor --shell-isolation \
  --variable CLANFORGE_WAIT_VERSION=v0.0.0-test --variable "CLANFORGE_WAIT_RELEASES=$RELEASES" \
  --variable "CLANFORGE_WAIT_SHA256_X86_64=$genuine" --variable "CLANFORGE_BASE_URL=$SIM" \
  --variable CLANFORGE_INTERVAL=100ms --variable CLANFORGE_MAX_INTERVAL=300ms \
  --variable UPDATE_ID=1 --variable VERSION_ID=1 \
  --variable CLANFORGE_UPDATE_URL=s3://url-key-GL:url-secret-GL@my-bucket/builds/ \
  --variable CLANFORGE_ACCESS_KEY=AKIA-gl-XYZZY \
  --variable CLANFORGE_SECRET_KEY=s3cr3t-gl-PLUGH >"$log" 2>&1) || true
check "the book's example: the update's gate passes" ended wait-for-image PASS
check "the rollout runs after it, on its dotenv report" said roll-out "EXAMPLE-ROLLED-OUT"
check "the version and the fleet in one gate pass" ended wait-for-fleet PASS
check "deploy in one step passes" ended deploy-build PASS
check "its result file is what the cache keeps" test -s "$example/.gitlab-ci-local/builds/deploy-build/deploy.json"
check "no key or URL secret shows in its log" \
  bash -c "! grep -E 'AKIA-gl-XYZZY|s3cr3t-gl-PLUGH|url-secret-GL' '$log'"

echo "gitlab-ci-local: $passed checks passed in $((SECONDS - started)) s"
