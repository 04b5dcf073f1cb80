#!/usr/bin/env bash
# Checks a release archive and its SBOM as scripts/package.sh wrote them: the archive holds the
# binary alone at its root, that binary is this version, and the SBOM is CycloneDX naming this
# version and what is compiled in (the HTTP and TLS stack) and nothing only the tests use.
#
#   scripts/check-release.sh OUT TARGET
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: $0 OUT TARGET} target=${2:?usage: $0 OUT TARGET}
archive="$out/clanforge-wait-$target.tar.gz"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)

listing=$(tar -tzf "$archive")
[ "$listing" = clanforge-wait ] || { echo "FAIL: $archive holds: $listing" >&2; exit 1; }
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
tar -xzf "$archive" -C "$unpacked"
says=$("$unpacked/clanforge-wait" --version)
[ "$says" = "clanforge-wait $version" ] || { echo "FAIL: the archive's binary says $says" >&2; exit 1; }

python3 - "$out/clanforge-wait-$target.cdx.json" "$version" <<'PY'
import json, sys
bom = json.load(open(sys.argv[1]))
version = sys.argv[2]
top = bom["metadata"]["component"]
names = {c["name"] for c in bom["components"]}
problems = []
if bom["bomFormat"] != "CycloneDX":
    problems.append(f"not CycloneDX: {bom['bomFormat']}")
if (top["name"], top["version"]) != ("clanforge-wait", version):
    problems.append(f"describes {top['name']} {top['version']}")
for needed in ("reqwest", "rustls", "tokio", "serde_json", "clap", "clanforge-sim"):
    if needed not in names:
        problems.append(f"lacks {needed}")
for test_only in ("proptest", "rcgen", "vt100", "clap_mangen"):
    if test_only in names:
        problems.append(f"lists {test_only}, which only the tests use")
if problems:
    sys.exit("FAIL: " + sys.argv[1] + ": " + "; ".join(problems))
print(f"{sys.argv[1]}: CycloneDX {bom['specVersion']}, clanforge-wait {version}, {len(names)} components")
PY
echo "OK: $archive ($(stat -c %s "$archive") bytes) holds clanforge-wait $version"
