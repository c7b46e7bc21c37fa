#!/usr/bin/env python3
"""The project's tidy check, run by the test suite (ctest: tidy, tidy_self_test).

Rules, each a reason a reviewer would otherwise have to give by hand:
  function-length  no function longer than 70 lines (signature to closing brace),
                   except those in scripts/tidy_allowlist.txt, which may not grow
                   and must leave the list once they fit (the list only shrinks);
  line-length      no line of C++ over 100 columns (.clang-format says the same);
  independence     inproc/ includes nothing from model/, explore/, oracle/ or fuzz/:
                   a differential test between two copies of one code proves nothing;
  clang-format     .clang-format exists at the root.

  scripts/tidy.py [--root DIR] [--print-lengths]
  scripts/tidy.py --self-test      plants violations in a scratch tree, checks each is caught

Exit status: 0 clean, 1 violations (one `path:line: rule: message` each), 2 usage.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

MAX_FUNCTION_LINES = 70
MAX_COLUMNS = 100
SOURCE_DIRS = ("trace", "model", "explore", "inproc", "targets", "agent", "oracle", "fuzz",
               "repro", "proofs", "cli", "tests", "bench")
ALLOWLIST = "scripts/tidy_allowlist.txt"
FORBIDDEN_FOR_INPROC = ("model/", "explore/", "oracle/", "fuzz/")
CONTROL_KEYWORDS = {"if", "for", "while", "switch", "catch", "do", "else", "try"}


def blank_out_literals(text):
    """Comments, string/char literals and preprocessor lines become spaces, newlines
    kept, so braces inside them do not count and line numbers stay right."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == "#":
            j = i
            while j < n and not (text[j] == "\n" and text[j - 1] != "\\"):
                j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if c == "\n":
            at_line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            at_line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and i + 1 < n and text[i + 1] == '"':
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'" and not (c == "'" and i > 0 and text[i - 1].isalnum()):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_name(header):
    """The (qualified) name before the parameter list of a definition header."""
    depth = 0
    for k, ch in enumerate(header):
        if ch == "(" and depth == 0:
            m = re.search(r"([~\w:]+(?:operator\s*\S+?)?)\s*$", header[:k])
            name = m.group(1) if m else "?"
            if re.fullmatch(r"(RC_GTEST_(FIXTURE_)?PROP|TEST(_F|_P)?)", name):
                # A test macro: named by its suite and test, as ctest names it.
                args = re.findall(r"\w+", header[k:header.find(")", k)])
                name = ".".join(args[:2])
            return name
        if ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
    return "?"


def classify_scope(header):
    words = re.findall(r"[A-Za-z_]\w*", header)
    if not words:
        return "other"
    if words[0] == "namespace" or header.strip().startswith('extern'):
        return "scope"
    paren = header.find("(")
    before = header if paren < 0 else header[:paren]
    if re.search(r"\b(class|struct|union|enum)\b", before) and "=" not in before:
        return "scope"
    if paren >= 0 and words[0] not in CONTROL_KEYWORDS and "=" not in before:
        return "function"
    if paren >= 0 and re.search(r"\]\s*\(.*\)\s*(mutable\s*)?(->[^{]*)?$", header, re.S):
        return "function"  # a lambda assigned at namespace scope
    return "other"


def functions(path):
    """Yields (name, first_line, line_count) for every function defined at namespace
    or class scope (nested lambdas count toward their function)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        code = blank_out_literals(f.read())
    stack = []  # kinds of the open braces
    header_start = 0
    line = 1
    starts = {}
    for i, ch in enumerate(code):
        if ch == "\n":
            line += 1
            continue
        in_function = any(kind in ("function", "other-in-function") for kind in stack)
        if ch == "{":
            if in_function:
                stack.append("other-in-function")
            else:
                header = code[header_start:i]
                kind = classify_scope(header)
                if kind == "function":
                    lead = len(header) - len(header.lstrip())
                    first = code.count("\n", 0, header_start + lead) + 1
                    starts[len(stack)] = (function_name(header.strip()), first)
                stack.append(kind)
            header_start = i + 1
        elif ch == "}":
            kind = stack.pop() if stack else "other"
            if kind == "function":
                name, first = starts.pop(len(stack))
                yield name, first, line - first + 1
            if not in_function or kind == "function":
                header_start = i + 1
        elif ch == ";" and not in_function:
            header_start = i + 1
        elif ch == ":" and not in_function and re.search(
                r"\b(public|private|protected)\s*$", code[header_start:i]):
            header_start = i + 1


def source_files(root):
    for top in SOURCE_DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith((".cpp", ".h", ".cc", ".c")):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def load_allowlist(root):
    allowed = {}
    path = os.path.join(root, ALLOWLIST)
    if not os.path.exists(path):
        return allowed
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            entry = raw.split("#", 1)[0].strip()
            if not entry:
                continue
            parts = entry.split()
            if len(parts) != 2 or not parts[1].isdigit():
                raise SystemExit(f"{ALLOWLIST}:{number}: expected `PATH:FUNCTION LINES`")
            allowed[parts[0]] = int(parts[1])
    return allowed


def check(root, print_lengths=False):
    problems = []
    allowed = load_allowlist(root)
    seen = set()
    if not os.path.exists(os.path.join(root, ".clang-format")):
        problems.append(".clang-format:1: clang-format: no .clang-format at the root")
    for rel in source_files(root):
        full = os.path.join(root, rel)
        with open(full, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        for number, text in enumerate(lines, 1):
            if len(text) > MAX_COLUMNS:
                problems.append(f"{rel}:{number}: line-length: {len(text)} columns "
                                f"(at most {MAX_COLUMNS}; run clang-format)")
            if rel.startswith("inproc/"):
                m = re.match(r'\s*#\s*include\s*"([^"]+)"', text)
                if m and m.group(1).startswith(FORBIDDEN_FOR_INPROC):
                    problems.append(f"{rel}:{number}: independence: the driver includes "
                                    f"{m.group(1)}; it must not see the model's code")
        for name, first, count in functions(full):
            key = f"{rel}:{name}"
            if print_lengths and count > MAX_FUNCTION_LINES:
                print(f"{key} {count}")
            limit = allowed.get(key)
            if limit is not None:
                seen.add(key)
            if count <= MAX_FUNCTION_LINES:
                continue
            if limit is None:
                problems.append(f"{rel}:{first}: function-length: {name} has {count} lines "
                                f"(at most {MAX_FUNCTION_LINES}); split it")
            elif count > limit:
                problems.append(f"{rel}:{first}: function-length: {name} grew to {count} lines, "
                                f"past its allow-list entry ({limit}); split it")
    for key, limit in sorted(allowed.items()):
        if key not in seen:
            problems.append(f"{ALLOWLIST}:1: function-length: {key} is listed but no longer "
                            "exists; remove the entry")
    for rel in source_files(root):
        for name, _, count in functions(os.path.join(root, rel)):
            key = f"{rel}:{name}"
            if key in allowed and count <= MAX_FUNCTION_LINES:
                problems.append(f"{ALLOWLIST}:1: function-length: {key} now has {count} lines; "
                                "remove it from the allow-list (the list only shrinks)")
    return problems


def self_test():
    """Plants each violation in a scratch tree and checks that the check reports it,
    and that a tree just inside every limit is clean."""
    def tree(function_body_lines, column_count, inproc_include, listed=None):
        root = tempfile.mkdtemp(prefix="tidy-self-test-")
        os.makedirs(os.path.join(root, "model"))
        os.makedirs(os.path.join(root, "inproc"))
        os.makedirs(os.path.join(root, "scripts"))
        open(os.path.join(root, ".clang-format"), "w").write("BasedOnStyle: Google\n")
        body = "".join(f"  x += {k};\n" for k in range(function_body_lines))
        wide = "// " + "w" * (column_count - 3) + "\n"
        with open(os.path.join(root, "model", "planted.cpp"), "w") as f:
            f.write(wide + "namespace n {\nclass C {\n public:\n  int f(int x) const {\n"
                    + body + "    return x;\n  }\n};\n}  // namespace n\n")
        with open(os.path.join(root, "inproc", "driver.cpp"), "w") as f:
            f.write(f'#include "{inproc_include}"\nint g() {{ return 1; }}\n')
        with open(os.path.join(root, ALLOWLIST), "w") as f:
            f.write(listed or "")
        return root

    # f() spans its signature, the body, `return x;` and `}`: body + 3 lines.
    cases = [
        ("a 70-line function passes", tree(67, 100, "trace/trace.h"), []),
        ("a 71-line function fails", tree(68, 100, "trace/trace.h"), ["function-length"]),
        ("an allow-listed 71-line function passes",
         tree(68, 100, "trace/trace.h", "model/planted.cpp:f 71\n"), []),
        ("an allow-listed function that grew fails",
         tree(69, 100, "trace/trace.h", "model/planted.cpp:f 71\n"), ["function-length"]),
        ("an allow-list entry that fits again fails",
         tree(10, 100, "trace/trace.h", "model/planted.cpp:f 71\n"), ["function-length"]),
        ("a 101-column line fails", tree(10, 101, "trace/trace.h"), ["line-length"]),
        ("inproc including the model fails", tree(10, 100, "model/model.h"), ["independence"]),
    ]
    failed = 0
    for title, root, expected_rules in cases:
        rules = sorted({p.split(": ")[1] for p in check(root)})
        ok = rules == sorted(expected_rules)
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {title}: reported {rules or 'nothing'}")
        subprocess.run(["rm", "-rf", root], check=False)
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--print-lengths", action="store_true",
                        help="print every function over the limit as an allow-list line")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    problems = check(os.path.abspath(args.root), args.print_lengths)
    for p in problems:
        print(p)
    if problems:
        print(f"tidy: {len(problems)} problems", file=sys.stderr)
        return 1
    print("tidy: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
