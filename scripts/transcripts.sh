#!/usr/bin/env bash
# Regenerates the transcripts in the README and the book from runs of the release build: each
# ```text block after a `<!-- transcript:NAME -->` line is replaced by what that run prints.
# Run it after a change to what the gate says, and review the diff (times and ports differ
# from run to run).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
cargo build --release --quiet --example sim-server
bin=target/release/clanforge-wait
out=$(mktemp -d)
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$out"' EXIT

# The log as a CI log shows it: no terminal, no colour, no CI detected.
run() {
  local name=$1
  shift
  env -u GITHUB_ACTIONS -u GITLAB_CI -u TEAMCITY_VERSION -u TF_BUILD -u BUILDKITE \
    NO_COLOR=1 "$bin" "$@" </dev/null 2>"$out/$name" >/dev/null || true
}

target/release/examples/sim-server 5 >"$out/url" &
sim=$!
for _ in $(seq 50); do [ -s "$out/url" ] && break; sleep 0.1; done
url=$(head -1 "$out/url")

run demo --demo
run deploy deploy --demo
CLANFORGE_ACCESS_KEY=any CLANFORGE_SECRET_KEY=any run two-jobs --base-url "$url" --asid 1 update/1 diff/1
CLANFORGE_ACCESS_KEY=any CLANFORGE_SECRET_KEY=any run check --base-url "$url" --asid 1 check --image-id 1234 --game-id 42
CLANFORGE_ACCESS_KEY=any CLANFORGE_SECRET_KEY=any run never-reached --base-url https://api.multiplay.co.ukk \
  --asid 1 --unreachable-timeout 5s update/1
sed -i "1i \$ clanforge-wait --base-url https://api.multiplay.co.ukk --asid 1 --unreachable-timeout 5s update/1" \
  "$out/never-reached"
# The check's block shows its command line, with the port this run had.
sed -i "1i \$ clanforge-wait --base-url $url --asid 1 check --image-id 1234 --game-id 42" "$out/check"

python3 - "$out" <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
def replace(match):
    name = match.group(1)
    return f"<!-- transcript:{name} -->\n```text\n{(out / name).read_text().rstrip()}\n```"
total = 0
for page in [pathlib.Path("README.md"), *sorted(pathlib.Path("docs/src").rglob("*.md"))]:
    text = page.read_text()
    text, n = re.subn(r"<!-- transcript:([a-z-]+) -->\n```[a-z]*\n.*?\n```", replace, text, flags=re.S)
    page.write_text(text)
    total += n
print(f"transcripts: {total} replaced")
PY
