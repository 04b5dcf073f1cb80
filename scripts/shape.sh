#!/usr/bin/env bash
# The shape the code keeps (issue 26), checked rather than remembered: no Rust file in src/,
# crates/, tests/ or examples/ over 600 lines, src/ within its line budget, and no import
# circle between the crate's modules (scripts/module-circles.py). Functions over 80 lines are
# clippy's too_many_lines (clippy.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

max_file=600
# The ceiling src/ may not pass, so that growth is a decision: raise it only with the
# feature that needs it, in the same commit, and lower it as the code shrinks. Issue 26's target
# is 12,000; the unit tests (about 1,900 lines) count here. The simulated API the demo serves is
# a crate of its own (crates/clanforge-sim), under the same 600-line rule per file.
max_src=${SHAPE_MAX_SRC:-11953}

status=0
while read -r lines file; do
  if [ "$lines" -gt "$max_file" ]; then
    echo "shape: $file is $lines lines (the limit is $max_file): split it by what it owns" >&2
    status=1
  fi
done < <(find src crates tests examples -name '*.rs' -print0 | xargs -0 wc -l | grep -v ' total$')

src=$(find src -name '*.rs' -print0 | xargs -0 cat | wc -l)
if [ "$src" -gt "$max_src" ]; then
  echo "shape: src/ is $src lines (the ceiling is $max_src)" >&2
  status=1
fi
echo "shape: src/ is $src lines (ceiling $max_src); files over $max_file lines: $([ $status = 0 ] && echo none || echo 'see above')"
python3 scripts/module-circles.py || status=1
exit $status
