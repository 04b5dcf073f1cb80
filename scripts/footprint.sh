#!/usr/bin/env bash
# Measures clanforge-wait's footprint and prints a Markdown table for the README:
#   - the size of the stripped static (musl) release binary;
#   - a one-shot gate (job already complete) against one curl request to the same local
#     server, side by side in one hyperfine run;
#   - peak RSS, CPU time and context switches for a 10 s and a 30 s wait with a 10 s
#     interval: what a wait costs between polls should not grow with the wait;
#   - the same for 50 jobs in one gate, a 30 s wait: memory and CPU for many jobs;
#   - the scale rows: 500 and 2,000 jobs (already complete) in one gate (2,000 also with every
#     CI's reporter on, and the JUnit and summary files): peak RSS, CPU per
#     request and the gap between requests (100 ms is the floor), against the figures kept
#     from the run that set them (6.3 / 9.9 MiB, 0.5-0.6 ms CPU per request);
#   - the fleet rows: an install list of 10,000, 50,000 and 100,000 running installs (about
#     55 bytes an entry) at the first look, done at the next: peak RSS, side by side with the
#     binary FOOTPRINT_BASELINE names (e.g. the last release's), when it is set.
# Installs hyperfine, GNU time and curl from Debian if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

target=x86_64-unknown-linux-musl
rustup target add "$target" >/dev/null 2>&1 || true
cargo build --release --locked --quiet --target "$target"
cargo build --release --locked --quiet --example sim-server
gate="target/$target/release/clanforge-wait"
sim=target/release/examples/sim-server

tmp=$(mktemp -d)
# serve() runs in a command substitution, a subshell: it records its servers in a file, which
# the cleanup reads (a shell array set there would never reach it).
cleanup() {
  if [ -f "$tmp/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$tmp/pids"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Starts a simulator whose jobs run $1 seconds ($2 update jobs, default 1) and prints its URL.
serve() {
  local file="$tmp/url.$1.${2:-1}"
  "$sim" "$1" "${2:-1}" >"$file" 2>/dev/null &
  echo $! >>"$tmp/pids"
  for _ in $(seq 100); do
    [ -s "$file" ] && break
    sleep 0.05
  done
  cat "$file"
}

export CLANFORGE_ACCESS_KEY=measure CLANFORGE_SECRET_KEY=measure
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }

size=$(stat -c %s "$gate")

url=$(serve 0)
hyperfine -N --warmup 20 --runs 300 --export-json "$tmp/oneshot.json" --style none \
  "curl -sf -u measure:measure $url/cfp/v1/imageupdate/1/status?accountserviceid=1" \
  "$gate --base-url $url --update-id 1 --asid 1" >/dev/null
read -r curl_ms gate_ms < <(python3 - "$tmp/oneshot.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(f'{r[0]["mean"] * 1000:.2f} {r[1]["mean"] * 1000:.2f}')
PY
)
ratio=$(awk -v g="$gate_ms" -v c="$curl_ms" 'BEGIN { printf "%.2f", g / c }')

# A job that ends just before the poll at 10 s (or 30 s): the gate waits that long.
wait_run() {
  local url
  url=$(serve "$1")
  /usr/bin/time -o "$tmp/time.$1" -f "%M %e %U %S %w %c" \
    "$gate" --base-url "$url" --update-id 1 --asid 1 --fixed-interval 10s --timeout 2m 2>/dev/null
  cat "$tmp/time.$1"
}
read -r rss10 wall10 user10 sys10 vol10 invol10 < <(wait_run 9)
read -r rss30 wall30 user30 sys30 vol30 invol30 < <(wait_run 29)
# 50 update jobs in one gate, ending just before the poll at 30 s.
url=$(serve 29 50)
jobs=()
for id in $(seq 50); do jobs+=("update/$id"); done
/usr/bin/time -o "$tmp/time.many" -f "%M %e %U %S %w %c" \
  "$gate" --base-url "$url" --asid 1 --fixed-interval 10s --timeout 2m "${jobs[@]}" 2>/dev/null
read -r rss50 wall50 user50 sys50 vol50 invol50 <"$tmp/time.many"
# The scale rows: every job already complete, so each costs one request, 100 ms apart.
scale() {
  local n=$1 url ids=() ci=()
  # "ci": with every CI's reporter on at once, and the JUnit and summary files.
  if [ "${2:-}" = ci ]; then
    ci=(env GITHUB_ACTIONS=true GITHUB_OUTPUT="$tmp/gh.out" GITHUB_STEP_SUMMARY="$tmp/gh.md"
      TEAMCITY_VERSION=2025.11 TF_BUILD=True BUILDKITE=true PATH=/nonexistent
      CLANFORGE_JUNIT="$tmp/junit.xml" CLANFORGE_SUMMARY="$tmp/summary.md")
  fi
  # The simulator's update/666 fails on purpose (its hostile error text): skip it.
  url=$(serve 0 "$((n + 1))")
  for id in $(seq "$((n + 1))"); do
    if [ "$id" != 666 ] && [ "${#ids[@]}" -lt "$n" ]; then ids+=("update/$id"); fi
  done
  # The last line of time's file is its figures; a gate that fails says so above them.
  /usr/bin/time -o "$tmp/time.scale.$n" -f "%M %e %U %S %x" \
    "${ci[@]}" "$gate" --base-url "$url" --asid 1 --timeout 20m "${ids[@]}" \
    >/dev/null 2>"$tmp/scale.$n.log" || true
  read -r rss wall user sys code < <(tail -n 1 "$tmp/time.scale.$n")
  if [ "$code" != 0 ]; then
    echo "exit $code: $(tail -n 1 "$tmp/scale.$n.log" | cut -c1-200)"
    return
  fi
  awk -v n="$n" -v r="$rss" -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN {
    printf "%.2f MiB, %.2f ms CPU per request, %.1f ms between requests\n",
      r / 1024, (u + s) * 1000 / n, w * 1000 / n }'
}
# A fleet's install list at the first look, done at the next: the peak RSS of `$1` reading it.
fleet() {
  local n=$1 bin=$2 file="$tmp/fleet.url.$1.$RANDOM" url
  SIM_FLEET=$n "$sim" 0 >"$file" 2>/dev/null &
  echo $! >>"$tmp/pids"
  for _ in $(seq 100); do
    [ -s "$file" ] && break
    sleep 0.05
  done
  url=$(cat "$file")
  /usr/bin/time -o "$tmp/time.fleet" -f "%M %x" "$bin" --base-url "$url" --asid 1 \
    --fixed-interval 100ms --timeout 2m install/1 >/dev/null 2>&1 || true
  read -r rss code < <(tail -n 1 "$tmp/time.fleet")
  if [ "$code" != 0 ]; then echo "exit $code"; else mib $((rss * 1024)); fi
}
fleet_row() {
  local n=$1 ours baseline=""
  ours=$(fleet "$n" "$gate")
  if [ -n "${FOOTPRINT_BASELINE:-}" ]; then
    baseline=" (baseline: $(fleet "$n" "$FOOTPRINT_BASELINE"))"
  fi
  echo "$ours$baseline"
}
fleet10k=$(fleet_row 10000)
fleet50k=$(fleet_row 50000)
fleet100k=$(fleet_row 100000)
scale500=$(scale 500)
scale2000=$(scale 2000)
scale2000ci=$(scale 2000 ci)
cpu50=$(awk -v u="$user50" -v s="$sys50" 'BEGIN { printf "%.2f", u + s }')
cpu10=$(awk -v u="$user10" -v s="$sys10" 'BEGIN { printf "%.2f", u + s }')
cpu30=$(awk -v u="$user30" -v s="$sys30" 'BEGIN { printf "%.2f", u + s }')

cat <<EOF2
| measure | value | target |
|---|---|---|
| stripped static binary ($target) | $(mib "$size") | ≤ 6 MiB |
| one-shot gate vs one curl request (mean of 300) | ${gate_ms} ms vs ${curl_ms} ms: ${ratio}× | ≤ 1.5× |
| peak RSS, 10 s and 30 s waits | $(mib $((rss10 * 1024))), $(mib $((rss30 * 1024))) | ≤ 16 MiB |
| 10 s wait (2 polls): wall, CPU, context switches (voluntary + involuntary) | ${wall10} s, ${cpu10} s, ${vol10} + ${invol10} | |
| 30 s wait (4 polls): wall, CPU, context switches (voluntary + involuntary) | ${wall30} s, ${cpu30} s, ${vol30} + ${invol30} | no growth but per poll |
| 50 jobs, 30 s wait: peak RSS, wall, CPU, context switches | $(mib $((rss50 * 1024))), ${wall50} s, ${cpu50} s, ${vol50} + ${invol50} | ≤ 16 MiB, CPU ~0 |
| 500 jobs in one gate: peak RSS, CPU per request, gap | ${scale500} | ≤ 6.3 MiB, 0.5-0.6 ms, ≥ 100 ms |
| 2,000 jobs in one gate: peak RSS, CPU per request, gap | ${scale2000} | ≤ 9.9 MiB, 0.5-0.6 ms, ≥ 100 ms |
| the same, every CI's reporter on (GitHub, TeamCity, Azure, Buildkite), JUnit and summary files | ${scale2000ci} | as above |
| an install list of 10,000 running installs (0.55 MB): peak RSS | ${fleet10k} | |
| an install list of 50,000 running installs (2.8 MB): peak RSS | ${fleet50k} | |
| an install list of 100,000 running installs (5.6 MB): peak RSS | ${fleet100k} | ≤ 24 MiB |
EOF2
