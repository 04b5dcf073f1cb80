#!/usr/bin/env python3
"""No import circle between the crate's top-level modules (issue 26): each `crate::MODULE`
named in a module's code (not its comments, its unit tests or the tests' API) is an edge;
any cycle fails, named with the line that makes each edge."""
import collections
import pathlib
import re
import sys

src = pathlib.Path(__file__).resolve().parent.parent / "src"
deps = collections.defaultdict(set)
why = {}
for path in src.rglob("*.rs"):
    parts = path.relative_to(src).parts
    if parts[-1] == "tests.rs" or parts[0] == "testing.rs":
        continue
    module = parts[0].removesuffix(".rs")
    code = path.read_text().split("#[cfg(test)]\nmod tests {")[0]
    for line in code.splitlines():
        if line.strip().startswith("//"):
            continue
        for used in re.findall(r"crate::([a-z_]+)", line):
            if used not in (module, "testing"):
                deps[module].add(used)
                why.setdefault((module, used), f"{path.relative_to(src.parent)}: {line.strip()}")

cycles = set()

def walk(start, node, path):
    for next_module in deps.get(node, ()):
        if next_module == start:
            cycles.add(tuple(path))
        elif next_module not in path:
            walk(start, next_module, path + [next_module])

for module in list(deps):
    walk(module, module, [module])
for cycle in sorted(cycles, key=len):
    edges = [why[(cycle[i], cycle[(i + 1) % len(cycle)])] for i in range(len(cycle))]
    print(f"import circle {' -> '.join(cycle)} -> {cycle[0]}:", *edges, sep="\n  ", file=sys.stderr)
print(f"modules: {len(deps)}, import circles: {len(cycles)}")
sys.exit(1 if cycles else 0)
