#!/usr/bin/env bash
# Proves what the Dockerfile promises without a Docker engine: the musl release binary is
# static, and it runs the demo to completion in an empty root holding only itself and a CA
# bundle — the contents of the `FROM scratch` image.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
cargo build --release --locked --target "$target" --quiet
binary="target/$target/release/clanforge-wait"

echo "ldd: $(ldd "$binary" 2>&1 || true)"
if ldd "$binary" 2>&1 | grep -q '=>'; then
  echo "FAIL: $binary links shared libraries" >&2
  exit 1
fi
echo "size: $(stat -c %s "$binary") bytes"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
mkdir -p "$root/etc/ssl/certs" "$root/out"
cp "$binary" "$root/clanforge-wait"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
echo "empty root: $(cd "$root" && find . -type f | sort | tr '\n' ' ')"

run_in_root() {
  if [ "$(id -u)" = 0 ]; then
    chroot --userspec=65534:65534 "$root" "$@"
  else
    unshare --map-root-user chroot "$root" "$@"
  fi
}
chmod 0777 "$root/out"
run_in_root /clanforge-wait --demo --result-file /out/result.json
grep -q '"result": "success"' "$root/out/result.json"
echo "OK: the static binary completed --demo in an empty root"
