#!/usr/bin/env python3
"""The book's links, checked: every relative link from a page of docs/src (and the README) names
a file that exists, and an anchor a heading of that page makes (mdBook's ids: lower case,
spaces to hyphens, punctuation dropped). Every page is in SUMMARY.md. Exits 1 naming each
broken one."""
import pathlib, re, sys

root = pathlib.Path(__file__).resolve().parent.parent
src = root / "docs" / "src"

def anchors(page):
    text = page.read_text()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    ids = set()
    for heading in re.findall(r"^#{1,6} (.*)$", text, flags=re.M):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        ids.add(slug)
    return ids

broken = []
pages = sorted(src.rglob("*.md")) + [root / "README.md"]
for page in pages:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{page.relative_to(root)}: {target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{page.relative_to(root)}: {target}: no heading makes #{anchor}")

summary = (src / "SUMMARY.md").read_text()
for page in sorted(src.rglob("*.md")):
    name = page.relative_to(src).as_posix()
    if name != "SUMMARY.md" and f"]({name})" not in summary:
        broken.append(f"docs/src/{name}: not in SUMMARY.md")

for line in broken:
    print(f"book: {line}", file=sys.stderr)
print(f"book: {len(pages)} pages, {len(broken)} broken links")
sys.exit(1 if broken else 0)
