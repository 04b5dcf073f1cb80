"""TeamCity's reading of a log: every `##teamcity[` anywhere in a line opens a service message.
Parsed by the documented grammar (`##teamcity[name 'value']`, `##teamcity[name key='value' ...]`,
values escaped with `|`), and every value checked against JetBrains' own escaping
(teamcity-messages' escape_value): what it would write for the text is what the line holds.
Reads the log on stdin, prints the messages as JSON."""
import json
import re
import sys

from teamcity.messages import escape_value

UNESCAPE = {"'": "'", "|": "|", "n": "\n", "r": "\r", "[": "[", "]": "]", "x": "\u0085",
            "l": "\u2028", "p": "\u2029"}


def value(text, i):
    """The quoted value starting at text[i] == "'": (decoded, raw, index after the quote)."""
    assert text[i] == "'", text[i:]
    out, j = [], i + 1
    while True:
        c = text[j]
        if c == "|":
            n = text[j + 1]
            if n == "0" and text[j + 2] == "x":
                out.append(chr(int(text[j + 3:j + 7], 16)))
                j += 7
                continue
            out.append(UNESCAPE[n])
            j += 2
        elif c == "'":
            return "".join(out), text[i + 1:j], j + 1
        else:
            out.append(c)
            j += 1


def parse(line, at):
    i = at + len("##teamcity[")
    name = re.match(r"[\w.]+", line[i:]).group(0)
    i += len(name)
    attrs = {}
    single = None
    while True:
        while line[i] == " ":
            i += 1
        if line[i] == "]":
            break
        if line[i] == "'":
            single, raw, i = value(line, i)
            check(single, raw)
            continue
        key = re.match(r"[\w.:-]+", line[i:]).group(0)
        i += len(key)
        assert line[i] == "=", line
        decoded, raw, i = value(line, i + 1)
        check(decoded, raw)
        attrs[key] = decoded
    return {"at": at, "name": name, "value": single, "attrs": attrs, "rest": line[i + 1:]}


def check(decoded, raw):
    if "|0x" not in raw:
        assert escape_value(decoded) == raw, (decoded, raw)


found = []
for line in sys.stdin.read().splitlines():
    start = 0
    while True:
        at = line.find("##teamcity[", start)
        if at < 0:
            break
        try:
            found.append(parse(line, at))
        except (AssertionError, IndexError, KeyError, AttributeError, ValueError) as e:
            found.append({"at": at, "invalid": line, "error": repr(e)})
        start = at + 1
json.dump(found, sys.stdout)
