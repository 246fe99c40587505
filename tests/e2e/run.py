#!/usr/bin/python3
"""Run every tests/e2e/test_*.py with unittest; print each test and a one-line summary.

Usage: /usr/bin/python3 tests/e2e/run.py [PATTERN ...]
PATTERN selects tests whose id (module.Class.test) contains it. The last line is
`e2e: N passed, N failed` (plus `, N skipped` when any were skipped); the exit status is 0
exactly when nothing failed or errored.
"""

import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class LineResult(unittest.TestResult):
    """Prints `name ... ok|FAIL|ERROR|skipped (reason)` as each test ends."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.passed = 0
        self.current = None
        self.word = None
        self.started = 0.0

    def startTest(self, test):
        super().startTest(test)
        self.current, self.word = test, None
        self.started = time.monotonic()
        self.stream.write("%s ... " % test.id())
        self.stream.flush()

    def stopTest(self, test):
        super().stopTest(test)
        word = self.word or "FAIL (subtests)"
        self.stream.write("%s (%.2fs)\n" % (word, time.monotonic() - self.started))
        self.stream.flush()
        self.current = None

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        self.word = "ok"

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1
        self.word = "ok (expected failure)"

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.word = "FAIL (unexpected success)"

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.word = "FAIL"

    def addError(self, test, err):
        super().addError(test, err)
        if self.current is None:      # setUpClass / setUpModule / tearDown of a class
            self.stream.write("%s ... ERROR\n" % test.id())
            self.stream.flush()
        else:
            self.word = "ERROR"

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if self.current is None:
            self.stream.write("%s ... skipped (%s)\n" % (test.id(), reason))
        else:
            self.word = "skipped (%s)" % reason

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None and self.word is None:
            self.word = "FAIL (subtest)"


def selected(suite, patterns):
    """Flatten a suite, keeping tests whose id contains one of the patterns (all if none)."""
    out = []
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            out.extend(selected(item, patterns))
        elif not patterns or any(p in item.id() for p in patterns):
            out.append(item)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("patterns", nargs="*")
    args = parser.parse_args(argv)
    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = selected(suite, args.patterns)
    result = LineResult(sys.stdout)
    unittest.TestSuite(tests).run(result)
    for kind, problems in (("FAIL", result.failures), ("ERROR", result.errors)):
        for test, trace in problems:
            sys.stdout.write("\n%s\n%s: %s\n%s\n%s" % ("=" * 70, kind, test.id(), "-" * 70, trace))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    summary = "e2e: %d passed, %d failed" % (result.passed, failed)
    if result.skipped:
        summary += ", %d skipped" % len(result.skipped)
    sys.stdout.write(("\n" if failed else "") + summary + "\n")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
