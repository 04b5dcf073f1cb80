#!/usr/bin/env bash
# Shared by the runner suites: a release server and the simulated API on 127.0.0.1, and
# release archives packed the way the release process packs them.

pids=()
passed=0

# NAME, then a command that must succeed; on failure, prints the runner's log ($log) and stops.
check() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    echo "FAILED: $name" >&2
    # shellcheck disable=SC2154 # $log: the suite that sources this sets it
    cat "$log" >&2
    exit 1
  fi
}

stop_servers() {
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
}

# Serves DIR over HTTP on a free port; sets RELEASES to its URL.
start_release_server() {
  mkdir -p "$1"
  local port_file
  port_file=$(mktemp)
  python3 - "$1" "$port_file" <<'PY' &
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
handler.log_message = lambda *args: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
open(sys.argv[2], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
  pids+=($!)
  for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
  RELEASES="http://127.0.0.1:$(cat "$port_file")"
  export RELEASES
}

# Starts examples/sim-server (jobs of 1 s) in DIR; sets SIM to its URL.
start_sim_server() {
  cargo build --locked --quiet --bin clanforge-wait --example sim-server
  target/debug/examples/sim-server 1 >"$1/sim.url" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$1/sim.url" ] && break; sleep 0.05; done
  SIM=$(head -n1 "$1/sim.url")
  export SIM
}

# Packs BINARY as clanforge-wait in DIR's Linux x64 archive, with its .sha256 (as a release
# publishes it); prints the archive's SHA-256.
pack_release() {
  local dir=$1 binary=$2 stage archive=clanforge-wait-x86_64-unknown-linux-musl.tar.gz sum
  mkdir -p "$dir"
  stage=$(mktemp -d)
  cp "$binary" "$stage/clanforge-wait"
  chmod +x "$stage/clanforge-wait"
  tar -czf "$dir/$archive" -C "$stage" clanforge-wait
  rm -rf "$stage"
  sum=$(sha256sum "$dir/$archive" | cut -d' ' -f1)
  echo "$sum  $archive" >"$dir/$archive.sha256"
  echo "$sum"
}
