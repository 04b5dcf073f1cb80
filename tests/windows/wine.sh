#!/usr/bin/env bash
# Windows, proven here: the x86_64-pc-windows-gnu build, run under Wine. The demo, then a
# black-box subset against the simulator (a Linux process on 127.0.0.1, which Wine's network
# reaches): a success, a failed job, the deadline; every output file written, named by Windows
# paths with a drive letter and backslashes. Exit codes and the result file are checked.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
command -v wine >/dev/null || missing+=(wine64)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
rustup target add x86_64-pc-windows-gnu >/dev/null 2>&1

# The Windows build is held to the same lints (code behind cfg(unix) is not compiled there).
cargo clippy --locked --quiet --target x86_64-pc-windows-gnu -- -D warnings
cargo build --release --locked --quiet --target x86_64-pc-windows-gnu
cargo build --release --locked --quiet --example sim-server

work=$(mktemp -d)
sims=()
trap 'kill "${sims[@]}" 2>/dev/null || true; wineserver -k 2>/dev/null || true; rm -rf "$work"' EXIT
cp target/x86_64-pc-windows-gnu/release/clanforge-wait.exe "$work/"
# Debian's Wine 8 lacks ProcessPrng, which Rust's std imports: a shim beside the exe (test only).
x86_64-w64-mingw32-gcc -O2 -shared -o "$work/bcryptprimitives.dll" \
  tests/windows/bcryptprimitives.c -ladvapi32
export WINEDEBUG=-all WINEPREFIX="$work/prefix"

# The Windows path of a file in $work: a drive letter and backslashes (Wine's Z: is /).
winpath() { printf 'Z:%s' "${1//\//\\}"; }

fail() { echo "windows: $*" >&2; exit 1; }

# Runs the exe with every output file; NAME's files are $work/NAME.*; checks exit code and result.
run() {
  local name=$1 want_code=$2 want_result=$3
  shift 3
  local code=0
  wine "$work/clanforge-wait.exe" "$@" \
    --result-file "$(winpath "$work/$name.json")" --dotenv "$(winpath "$work/$name.env")" \
    --junit "$(winpath "$work/$name.xml")" --summary "$(winpath "$work/$name.md")" \
    >"$work/$name.out" 2>"$work/$name.err" </dev/null || code=$?
  [ "$code" = "$want_code" ] || { cat "$work/$name.err" >&2; fail "$name: exit $code, not $want_code"; }
  for file in json env xml md; do
    [ -s "$work/$name.$file" ] || fail "$name: no $name.$file written"
  done
  grep -q "\"result\": \"$want_result\"" "$work/$name.json" || fail "$name: $(cat "$work/$name.json")"
  grep -q "^CLANFORGE_RESULT=$want_result$" "$work/$name.env" || fail "$name: the dotenv file"
  echo "windows: $name: exit $code, result $want_result, every output written"
}

wine "$work/clanforge-wait.exe" --version | grep -q "^clanforge-wait " || fail "--version"
run demo 0 success --demo --timeout 60s

# Two simulators: jobs of 1 s, and of 60 s (for the deadline). Started here, not in a
# subshell, so that the trap stops them.
for seconds in 1 60; do
  target/release/examples/sim-server "$seconds" >"$work/url-$seconds" 2>/dev/null &
  sims+=($!)
done
url() {
  for _ in $(seq 100); do [ -s "$work/url-$1" ] && break; sleep 0.1; done
  head -1 "$work/url-$1"
}
quick=$(url 1)
slow=$(url 60)
export CLANFORGE_ACCESS_KEY=any CLANFORGE_SECRET_KEY=any
run success 0 success --base-url "$quick" --asid 1 update/1 --interval 200ms
run failed 1 failed --base-url "$quick" --asid 1 update/666
run deadline 3 timeout --base-url "$slow" --asid 1 update/1 --timeout 2s
