"""The JUnit file as junitparser (PyPI) reads it: prints its suites and cases as JSON."""
import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped

xml = JUnitXml.fromfile(sys.argv[1])
suites = [xml] if xml._tag == "testsuite" else list(xml)
out = []
for suite in suites:
    cases = []
    for case in suite:
        results = [{"kind": type(r).__name__, "message": r.message, "type": r.type, "text": r.text}
                   for r in case.result if isinstance(r, (Failure, Error, Skipped))]
        cases.append({"name": case.name, "classname": case.classname, "time": case.time,
                      "results": results, "system_out": case.system_out})
    out.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                "errors": suite.errors, "time": suite.time, "cases": cases})
json.dump(out, sys.stdout)
