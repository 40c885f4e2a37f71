#!/usr/bin/env python3
"""The VM test cases: every program that VM tests boot keeps them beside it, in `tests.expect`
(apps/NAME/tests.expect, tests/vm/NAME/tests.expect); tests/vm/common.expect holds fragments
that several programs share (the boot banner, a fault report's exit code).

The format, one statement a line (blank lines and lines starting with # are skipped; leading
white space is not significant):

  test NAME                 starts a test case: NAME is the meson test name
  fragment NAME             starts lines that cases take in with `include NAME`

  and in a test case (the first six have the defaults shown):
  suite vm                  the meson suite
  timeout 60                meson's timeout, seconds
  parallel yes              `no`: meson runs the test alone
  image elf                 `bochs`: the program's Bochs disk (tools/toro bochs) instead of its ELF
  driver vmtest.py          the script in tests/vm that runs the case, called as
                            SCRIPT TORO BUILD_DIR IMAGE [ARGS...]; ARGS may name another
                            program's image, {elf:NAME} or {bochs:NAME}, or {loadgen}
  exit 0                    the exit code the VM must end with (tools/toro run's code)
  run OPTIONS...            options for `tools/toro run` (or `bochs`), split as a shell would;
                            {TEXT*N} stands for TEXT repeated N times
  expect REGEX              must match in the serial output, after the previous `expect`'s match
  expect-any REGEX          must match somewhere
  reject REGEX              must match nowhere
  debug-line TEXT           the debug device (COM2, WriteDebug's lines dumped at exit) must show
                            this line, prefix "[date] CPU<n> Thread#<id> " taken off; with
                            debug-lines, the exact set: every line it selects is one of these
  debug-lines REGEX         which debug lines form the set (default: all); e.g. `: (PASSED|FAILED)$`
  debug-any REGEX           must match somewhere in the debug device's output (prefix kept)
  stop-at SYMBOL            gdbtest.py: where gdb stops (its `expect-any` lines are about gdb's output;
                            its `run` options go to `tools/toro debug`, e.g. --stub)
  include NAME              the lines of a fragment of this file or of tests/vm/common.expect

A REGEX is the rest of the line after the keyword and one space, as Python's `re` reads it with
re.MULTILINE (so ^ and $ are a console line's ends); trailing white space is dropped.
vmtest.py, blocktest.py and gdbtest.py read their case from the file when the test runs (--case FILE NAME);
the other drivers take only their arguments.

  cases.py meson ROOT DIR...   the cases of DIR/tests.expect, for tests/vm/meson.build: one line
                               per case, tab-separated: name, suite, timeout, parallel (true or
                               false), then the test's arguments ({toro}, {build}, {elf:NAME},
                               {bochs:NAME}, {loadgen} for meson to replace)
  cases.py show FILE NAME      a case as the drivers see it
"""
import os
import re
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
COMMON = os.path.join(HERE, "common.expect")
FILE_NAME = "tests.expect"

DEBUG_CHECKS = {"debug-line", "debug-lines", "debug-any"}
CASE_DRIVERS = {"vmtest.py": {"run", "exit", "expect", "expect-any", "reject"} | DEBUG_CHECKS,
                "blocktest.py": {"run", "exit", "expect", "expect-any", "reject"},
                "gdbtest.py": {"stop-at", "expect-any", "run"}}
CHECKS = {"run", "exit", "expect", "expect-any", "reject", "stop-at"} | DEBUG_CHECKS
SETTINGS = {"suite", "timeout", "parallel", "image", "driver"}
IN_FRAGMENT = {"exit", "expect", "expect-any", "reject", "include"} | DEBUG_CHECKS
# Toro's WriteDebug prefix (toro-spec §1.7, HEAD's %h thread id).
DEBUG_PREFIX = re.compile(r"^\[\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d\] CPU\d+ Thread#0x[0-9A-F]{16} ")
REPEAT = re.compile(r"\{([^{}*]*)\*(\d+)\}")


class FormatError(Exception):
    pass


class Case:
    """One test case with its fragments resolved."""

    def __init__(self, name, path, line):
        self.name, self.path, self.line = name, path, line
        self.suite, self.timeout, self.parallel, self.image = "vm", 60, True, "elf"
        self.driver, self.driver_args = "vmtest.py", []
        self.exit = None  # None: 0 unless a line says otherwise
        self.run = []
        self.expect, self.expect_any, self.reject = [], [], []
        self.stop_at = None
        self.debug_line, self.debug_lines, self.debug_any = [], None, []
        self.used = set()  # the check keywords this case has (after its fragments)

    @property
    def expected_exit(self):
        return 0 if self.exit is None else self.exit

    @property
    def uses_debug(self):
        return bool(self.used & DEBUG_CHECKS)

    def check_debug(self, debug):
        """What is wrong with the debug device's output `debug` (CR LF already made LF)."""
        failures = []
        lines = [DEBUG_PREFIX.sub("", line) for line in debug.split("\n") if line.strip()]
        if self.debug_line:
            select = re.compile(self.debug_lines or "")
            got = sorted(line for line in lines if select.search(line))
            want = sorted(self.debug_line)
            for line in want:
                if got.count(line) < want.count(line):
                    failures.append(f"the debug device does not show '{line}'")
            for line in sorted(set(got)):
                if got.count(line) > want.count(line):
                    failures.append(f"the debug device shows '{line}' ({got.count(line)} times), "
                                    f"not in the case's set ({want.count(line)} times)")
        for pattern in self.debug_any:
            if not re.search(pattern, debug, re.M):
                failures.append(f"expected /{pattern}/ somewhere in the debug device's output")
        return failures

    def check(self, out, code=None):
        """What is wrong with a run that printed `out` and ended with exit code `code` (None: not
        checked), as messages; none when the run passed."""
        failures = []
        if code is not None and code != self.expected_exit:
            failures.append(f"exit code {code}, expected {self.expected_exit}")
        pos = 0
        for pattern in self.expect:
            m = re.compile(pattern, re.M).search(out, pos)
            if m is None:
                where = "after the previous match" if pos else "anywhere"
                failures.append(f"expected /{pattern}/ {where} in the output")
            else:
                pos = m.end()
        for pattern in self.expect_any:
            if not re.search(pattern, out, re.M):
                failures.append(f"expected /{pattern}/ somewhere in the output")
        for pattern in self.reject:
            if re.search(pattern, out, re.M):
                failures.append(f"/{pattern}/ must not appear in the output")
        return failures


def _statements(path):
    """(line number, keyword, value) of every statement in the file."""
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keyword, _, value = line.partition(" ")
            yield number, keyword, value.rstrip()


def _parse(path):
    """{name: (kind, line, [(line, keyword, value)])} for the tests and fragments of a file, in order."""
    blocks = {}
    current = None
    for number, keyword, value in _statements(path):
        if keyword in ("test", "fragment"):
            name = value.strip()
            if not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
                raise FormatError(f"{path}:{number}: a {keyword} needs a name of letters, digits and -_.+")
            if name in blocks:
                raise FormatError(f"{path}:{number}: {name} is defined twice")
            current = blocks[name] = (keyword, number, [])
        elif current is None:
            raise FormatError(f"{path}:{number}: '{keyword}' before the first `test` or `fragment`")
        else:
            current[2].append((number, keyword, value))
    return blocks


def _fragments(path):
    own = {n: b for n, b in _parse(path).items() if b[0] == "fragment"}
    if os.path.abspath(path) != COMMON and os.path.exists(COMMON):
        common = {n: (b, COMMON) for n, b in _parse(COMMON).items() if b[0] == "fragment"}
    else:
        common = {}
    return {**common, **{n: (b, path) for n, b in own.items()}}


def _apply(case, path, statements, fragments, seen, in_fragment=False):
    for number, keyword, value in statements:
        where = f"{path}:{number}"
        if in_fragment and keyword not in IN_FRAGMENT:
            raise FormatError(f"{where}: '{keyword}' cannot stand in a fragment")
        if keyword == "include":
            if value not in fragments:
                raise FormatError(f"{where}: no fragment '{value}' in this file or in tests/vm/common.expect")
            if value in seen:
                raise FormatError(f"{where}: fragment '{value}' includes itself")
            (_, _, body), fpath = fragments[value]
            _apply(case, fpath, body, fragments, seen | {value}, in_fragment=True)
        elif keyword == "suite":
            case.suite = value
        elif keyword == "timeout":
            case.timeout = _number(where, value)
        elif keyword == "parallel":
            if value not in ("yes", "no"):
                raise FormatError(f"{where}: parallel is yes or no")
            case.parallel = value == "yes"
        elif keyword == "image":
            if value not in ("elf", "bochs"):
                raise FormatError(f"{where}: image is elf or bochs")
            case.image = value
        elif keyword == "driver":
            words = _split(where, value)
            if not words:
                raise FormatError(f"{where}: driver needs a script name")
            case.driver, case.driver_args = words[0], words[1:]
        elif keyword == "exit":
            if case.exit is not None:
                raise FormatError(f"{where}: a second exit code for {case.name}")
            case.exit = _number(where, value)
        elif keyword == "run":
            case.run += [REPEAT.sub(lambda m: m[1] * int(m[2]), w) for w in _split(where, value)]
        elif keyword in ("expect", "expect-any", "reject"):
            try:
                re.compile(value, re.M)
            except re.error as e:
                raise FormatError(f"{where}: not a regular expression ({e}): {value}") from None
            {"expect": case.expect, "expect-any": case.expect_any, "reject": case.reject}[keyword].append(value)
        elif keyword == "debug-line":
            case.debug_line.append(value)
        elif keyword in ("debug-lines", "debug-any"):
            try:
                re.compile(value, re.M)
            except re.error as e:
                raise FormatError(f"{where}: not a regular expression ({e}): {value}") from None
            if keyword == "debug-any":
                case.debug_any.append(value)
            elif case.debug_lines is not None:
                raise FormatError(f"{where}: a second debug-lines for {case.name}")
            else:
                case.debug_lines = value
        elif keyword == "stop-at":
            case.stop_at = value
        else:
            raise FormatError(f"{where}: unknown keyword '{keyword}'")
        if keyword in CHECKS:
            case.used.add(keyword)


def _number(where, value):
    if not re.fullmatch(r"-?\d+", value):
        raise FormatError(f"{where}: not a whole number: {value}")
    return int(value)


def _split(where, value):
    try:
        return shlex.split(value)
    except ValueError as e:
        raise FormatError(f"{where}: {e}") from None


def load(path):
    """The test cases of a file, in its order, with their fragments resolved."""
    fragments = _fragments(path)
    cases = []
    for name, (kind, number, body) in _parse(path).items():
        if kind != "test":
            continue
        case = Case(name, path, number)
        _apply(case, path, body, fragments, set())
        allowed = CASE_DRIVERS.get(case.driver, set())
        if case.used - allowed:
            raise FormatError(f"{path}:{number}: {name}: {case.driver} reads no "
                              f"{', '.join(sorted(case.used - allowed))} lines")
        if not os.path.isfile(os.path.join(HERE, case.driver)):
            raise FormatError(f"{path}:{number}: {name}: no driver tests/vm/{case.driver}")
        cases.append(case)
    return cases


def find(path, name):
    for case in load(path):
        if case.name == name:
            return case
    raise FormatError(f"{path}: no test '{name}'")


def driver_arguments(image_help="the program's image"):
    """What a case's driver script is called with (TORO BUILD_DIR IMAGE --case FILE NAME): the
    parsed arguments (toro, build_dir, image) and the case."""
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("toro")
    p.add_argument("build_dir")
    p.add_argument("image", help=image_help)
    p.add_argument("--case", nargs=2, metavar=("FILE", "NAME"), required=True)
    args = p.parse_args()
    return args, find(*args.case)


def meson_lines(root, dirs):
    """The lines tests/vm/meson.build reads (see the module's doc)."""
    listed = {os.path.normpath(d) for d in dirs}
    for parent in ("apps", os.path.join("tests", "vm"), os.path.join("bench", "vm")):
        base = os.path.join(root, parent)
        for d in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            rel = os.path.join(parent, d)
            if os.path.isfile(os.path.join(base, d, FILE_NAME)) and rel not in listed:
                raise FormatError(f"{rel}/{FILE_NAME} is not read: add '{rel}' to the list in tests/vm/meson.build")
    names = set()
    out = []
    for d in dirs:
        path = os.path.join(root, d, FILE_NAME)
        program = os.path.basename(os.path.normpath(d))
        for case in load(path):
            if case.name in names:
                raise FormatError(f"{path}:{case.line}: test {case.name} is defined in another file too")
            names.add(case.name)
            args = [os.path.join(HERE, case.driver), "{toro}", "{build}", "{%s:%s}" % (case.image, program)]
            args += case.driver_args
            if case.driver in CASE_DRIVERS:
                args += ["--case", os.path.abspath(path), case.name]
            fields = [case.name, case.suite, str(case.timeout), "true" if case.parallel else "false"] + args
            if any("\t" in f or "\n" in f or not f for f in fields):
                raise FormatError(f"{path}:{case.line}: {case.name}: an empty argument or one with a tab")
            out.append("\t".join(fields))
    return out


def main(argv):
    try:
        if len(argv) >= 2 and argv[0] == "meson":
            print("\n".join(meson_lines(argv[1], argv[2:])))
            return 0
        if len(argv) == 3 and argv[0] == "show":
            case = find(argv[1], argv[2])
            for key in ("suite", "timeout", "parallel", "image", "driver", "driver_args", "expected_exit", "run",
                        "stop_at", "expect", "expect_any", "reject", "debug_line", "debug_lines", "debug_any"):
                print(f"{key}: {getattr(case, key)!r}")
            return 0
    except (FormatError, OSError) as e:
        print(f"cases.py: {e}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
