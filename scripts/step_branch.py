#!/usr/bin/env python3
"""Make a git branch `step-NN` holding the project as it stands after
chapter NN, alone: later chapters' modules, files, verbs, tests and step
READMEs are gone, and the `cfg` gates of the chapters that are on are
removed, so the code reads as plain code. The text is transformed line by
line, never reformatted (only blank lines left doubled by a removal are
merged).

    scripts/step_branch.py N...         make or refresh each branch step-NN,
                                        once its tree builds (`cargo build`)
    scripts/step_branch.py --check N... also clippy (-D warnings) and rustfmt
                                        it, and run all its tests (root)
    ... --check --own-tests N...        the unit tests and chapter N's own
                                        integration tests only

Each branch gets one line: its name, the result, the seconds in all and
by phase; a failure is followed by what the failing command printed (a
test run's failures, a compiler's errors), and the run goes on to the
next branch. The exit status is 1 if any branch failed. The branches
share one target directory (target/step-branches), so the dependencies
build once.

Gates may only sit on `mod` lines, items, fields, variants, match arms and
statements, one attribute line each (see ARCHITECTURE.md). A gate the
generator cannot strip cleanly stops it, naming the file and line.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent


class GateError(Exception):
    pass


def sh(*args, cwd=None, check=True, capture=False):
    return subprocess.run(args, cwd=cwd, check=check, text=True,
                          capture_output=capture)


# --- features -------------------------------------------------------------

def features_of(cargo, step):
    table = cargo["features"]
    on, todo = set(), [f"step-{step:02}"]
    while todo:
        f = todo.pop()
        if f in on:
            continue
        on.add(f)
        todo.extend(table.get(f, []))
    return on


def parse_pred(text, pos=0):
    """Parse a cfg predicate; return (evaluator, next position)."""
    text_ws = text
    def skip(p):
        while p < len(text_ws) and text_ws[p] in " \t":
            p += 1
        return p
    pos = skip(pos)
    m = re.match(r'feature\s*=\s*"([^"]+)"', text[pos:])
    if m:
        name = m.group(1)
        return (lambda on: name in on), pos + m.end()
    m = re.match(r'(not|all|any)\s*\(', text[pos:])
    if not m:
        raise GateError(f"cannot read the cfg predicate {text!r}")
    op = m.group(1)
    pos += m.end()
    parts = []
    while True:
        pos = skip(pos)
        if text[pos] == ")":
            pos += 1
            break
        ev, pos = parse_pred(text, pos)
        parts.append(ev)
        pos = skip(pos)
        if text[pos] == ",":
            pos += 1
    if op == "not":
        return (lambda on: not parts[0](on)), pos
    if op == "all":
        return (lambda on: all(p(on) for p in parts)), pos
    return (lambda on: any(p(on) for p in parts)), pos


CFG_LINE = re.compile(r'^\s*#\[cfg\((.*)\)\]\s*$')


# --- the extent of an item ---------------------------------------------------

ITEM_WORDS = re.compile(
    r'^\s*(pub(\([^)]*\))?\s+)?(unsafe\s+)?(async\s+)?'
    r'(fn|impl|struct|enum|mod|trait|const|static|type|use|let|macro_rules!|if|for|while|match|loop)\b')
# Items that end at their `;`, whatever braces they hold on the way
# (`use a::{b, c};`, `const P: Point = Point { x: 1 };`): the whole
# statement goes, terminator included.
STATEMENT_WORDS = {"const", "static", "type", "use", "let"}


def attribute_end(src, i):
    """The offset just past the attribute `#[...]` starting at `i`."""
    j, d = i + 1, 0
    while True:
        if src[j] == "[":
            d += 1
        elif src[j] == "]":
            d -= 1
            if d == 0:
                return j + 1
        j += 1


def item_end(src, start, where):
    """The offset just past the item beginning at `start`."""
    # The item's kind shows after its attributes and doc comments.
    k = start
    while True:
        rest = src[k:]
        stripped = rest.lstrip()
        k += len(rest) - len(stripped)
        if stripped.startswith("///") or stripped.startswith("//"):
            k = src.find("\n", k) + 1
        elif stripped.startswith("#["):
            k = attribute_end(src, k)
        else:
            break
    line = src[k:src.find("\n", k) if "\n" in src[k:] else len(src)]
    word = ITEM_WORDS.match(line)
    statement = bool(word) and word.group(5) in STATEMENT_WORDS
    block_item = bool(word) and not statement
    # Skip the item's own attributes (#[arg(...)], #[path = ...], ...).
    depth = 0
    i = start
    n = len(src)
    opened_block = False
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            i = src.find("\n", i)
            if i < 0:
                return n
            continue
        if src.startswith("/*", i):
            i = src.find("*/", i) + 2
            continue
        if c == '"' or (c == "r" and re.match(r'r#*"', src[i:i + 10]) and not src[i - 1].isalnum()):
            if c == "r":
                hashes = re.match(r'r(#*)"', src[i:]).group(1)
                close = '"' + hashes
                i = src.find(close, i + 2 + len(hashes)) + len(close)
                continue
            i += 1
            while src[i] != '"':
                i += 2 if src[i] == "\\" else 1
            i += 1
            continue
        if c == "'":
            m = re.match(r"'(\\.|[^\\'])'", src[i:i + 4]) or re.match(r"'\\u\{[0-9a-fA-F]+\}'", src[i:i + 12])
            if m:
                i += m.end()
                continue
            i += 1
            continue
        if c == "#" and depth == 0 and src.startswith("#[", i):
            # an attribute of the item: skip it whole
            i = attribute_end(src, i)
            continue
        if c in "([{":
            if c == "{" and depth == 0:
                opened_block = True
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return i  # the enclosing block ends: the item was the last
            if depth == 0 and c == "}" and opened_block and block_item:
                j = i + 1
                while j < n and src[j] in " \t\n":
                    j += 1
                # `if .. {} else {}`: the else belongs to the item.
                if re.match(r"else\b", src[j:j + 5]):
                    i = j
                    continue
                j = i + 1
                while j < n and src[j] in " \t":
                    j += 1
                if j < n and src[j] in ",;":
                    j += 1
                return j
        elif depth == 0 and c == ";":
            return i + 1
        elif depth == 0 and c == "," and not block_item and not statement:
            return i + 1
        i += 1
    raise GateError(f"{where}: cannot find the end of the gated item")


# --- one file -----------------------------------------------------------------

CFG_ATTR = re.compile(r'(?m)^([ \t]*)#\[cfg_attr\((.*)\)\][ \t]*\n')


def split_cfg_attr(inner):
    """`PRED, ATTR` of a `cfg_attr(PRED, ATTR)`: split at the first comma
    outside parentheses."""
    depth = 0
    for i, c in enumerate(inner):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            return inner[:i].strip(), inner[i + 1:].strip()
    raise GateError(f"cannot read cfg_attr({inner})")


def strip_cfg_attrs(src, on, rel):
    """A `cfg_attr` on a feature becomes its attribute (when on) or goes.
    An `allow(...)` it would leave is refused: the code it excuses is
    unused in the branch, and must be gated instead."""
    def repl(m):
        lineno = src.count("\n", 0, m.start()) + 1
        pred, attr = split_cfg_attr(m.group(2))
        if "feature" not in pred:
            return m.group(0)
        ev, _ = parse_pred(pred)
        if not ev(on):
            return ""
        if attr.startswith("allow("):
            raise GateError(f"{rel}:{lineno}: cfg_attr would leave #[{attr}] in the branch: "
                            "gate the unused code instead")
        return f"{m.group(1)}#[{attr}]\n"
    return CFG_ATTR.sub(repl, src)


def strip_file(path, on, removed_mods):
    src = path.read_text()
    rel = path.relative_to(TOP_WORK)
    before = src
    src = strip_cfg_attrs(src, on, rel)
    out = []
    pos = 0
    lines_done = 0
    changed = False
    while True:
        m = None
        for cand in re.finditer(r'(?m)^[ \t]*#\[cfg\((.*)\)\][ \t]*\n', src[pos:]):
            pred = cand.group(1)
            # Only chapter gates are the generator's: `test`,
            # `target_endian = "little"` and the like stay as they are.
            if pred.strip() == "test" or "feature" not in pred:
                continue
            m = cand
            break
        if not m:
            out.append(src[pos:])
            break
        a, b = pos + m.start(), pos + m.end()
        lineno = src.count("\n", 0, a) + 1
        where = f"{rel}:{lineno}"
        try:
            ev, end = parse_pred(m.group(1))
        except GateError as e:
            raise GateError(f"{where}: {e}")
        changed = True
        if ev(on):
            out.append(src[pos:a])
            pos = b
            continue
        # Remove the gated item, and the doc comments and attributes just
        # above the gate that belong to it.
        head = src[pos:a]
        kept = head.rstrip("\n").split("\n") if head else []
        trailing_nl = head.endswith("\n")
        removed_docs = 0
        while kept and re.match(r'^\s*(///|#\[(?!cfg))', kept[-1]):
            kept.pop()
            removed_docs += 1
        head2 = "\n".join(kept) + ("\n" if kept and trailing_nl else "")
        if not kept:
            head2 = ""
        out.append(head2)
        end_item = item_end(src, b, where)
        item_text = src[b:end_item]
        mm = re.match(r'^\s*(#\[path\s*=\s*"([^"]+)"\]\s*)?(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*;', item_text, re.S)
        if mm:
            removed_mods.append((path, mm.group(5), mm.group(2)))
        # drop the rest of the line the item ended on (its newline)
        nl = src.find("\n", end_item)
        rest_of_line = src[end_item:nl] if nl >= 0 else src[end_item:]
        if rest_of_line.strip() == "":
            pos = nl + 1 if nl >= 0 else len(src)
        else:
            pos = end_item
    if not changed and src == before:
        return
    text = "".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r"\{\n\n+", "{\n", text)
    text = re.sub(r"\n\n+(\s*\})", r"\n\1", text)
    path.write_text(text)


def module_file(parent_file, name, path_attr):
    d = parent_file.parent
    if parent_file.name not in ("lib.rs", "main.rs", "mod.rs"):
        d = d / parent_file.stem
    if path_attr:
        return [d / path_attr] if parent_file.name in ("lib.rs", "main.rs", "mod.rs") else [parent_file.parent / path_attr]
    return [d / f"{name}.rs", d / name]


# --- the whole tree -----------------------------------------------------------

# The last chapter.
LAST_STEP = 40


def bench_step():
    """The step the benchmarks need: their `required-features` in main's
    Cargo.toml (they compare what the later chapters add: the images of
    38-39, the OCI runtime of 40). A branch before it has no benches."""
    m = re.search(r'\[\[bench\]\][^\[]*?required-features = \["step-(\d+)"\]',
                  (TOP / "Cargo.toml").read_text())
    return int(m.group(1)) if m else 32

STEP_CONST = re.compile(r"pub const STEP: u32 = \{.*?\n\};", re.S)


def transform(work, step):
    global TOP_WORK
    TOP_WORK = work
    cargo = tomllib.loads((work / "Cargo.toml").read_text())
    on = features_of(cargo, step)
    removed = []
    rust_files = [p for d in ("src", "tests", "benches") for p in (work / d).rglob("*.rs")]
    for p in rust_files:
        if p.exists():
            strip_file(p, on, removed)
    # Files of modules that are gone, and what they declared in turn.
    while removed:
        parent, name, path_attr = removed.pop()
        for f in module_file(parent, name, path_attr):
            if f.is_dir():
                shutil.rmtree(f)
            elif f.exists():
                f.unlink()
    # Modules that an alternative gate made unreachable (#[path] twins):
    # a file nothing declares any more.
    srcs = sorted((work / "src").rglob("*.rs"))
    texts = {p: p.read_text() for p in srcs}
    for p in srcs:
        if p.name in ("lib.rs", "main.rs", "mod.rs"):
            continue
        declared = any(
            re.search(rf'\bmod\s+{re.escape(p.stem)}\s*;', t) or f'"{p.name}"' in t
            for q, t in texts.items() if q != p)
        if not declared:
            p.unlink()
    harness = work / "tests/integration/harness.rs"
    if harness.exists():
        h = harness.read_text()
        h = STEP_CONST.sub(f"pub const STEP: u32 = {step};", h)
        harness.write_text(h)
    snaps = work / "tests/integration/snapshots"
    if snaps.exists():
        for s in snaps.iterdir():
            m = re.search(r"_step(\d\d)\.snap$", s.name)
            if m and int(m.group(1)) != step:
                s.unlink()
    rewrite_cargo(work, cargo, step, on)
    rewrite_docs(work, step)
    problems = leftovers(work)
    if problems:
        raise GateError("leftovers of later chapters in the branch:\n" + "\n".join(problems))
    # Anything that still names a feature is a gate the generator missed.
    left = sh("grep", "-rnE", r"cfg!?\((.*)feature", "src", "tests", "benches",
              cwd=work, check=False, capture=True).stdout.strip()
    if left:
        raise GateError("gates left that could not be stripped:\n" + left)


OPTIONAL_DEP = re.compile(
    r'(?m)^((?:#[^\n]*\n)*)([\w-]+) = \{ ([^}\n]*\boptional = true\b[^}\n]*) \}\n')


def branch_dependencies(head, cargo, on):
    """A chapter's optional dependency (`dep:NAME` in its feature) is a
    plain one in the branches that hold the chapter, and absent (with the
    comments above it) in those before: a branch has no features."""
    wanted = {d[len("dep:"):] for f in on for d in cargo["features"].get(f, [])
              if d.startswith("dep:")}
    # `NAME/FEATURE` in a chapter's feature: FEATURE of that dependency is on
    # in the branches that hold the chapter.
    extra = {}
    for f in on:
        for d in cargo["features"].get(f, []):
            if "/" in d and not d.startswith("dep:"):
                name, feat = d.split("/", 1)
                extra.setdefault(name.rstrip("?"), []).append(feat)

    def repl(m):
        comments, name, body = m.groups()
        if name not in wanted:
            return ""
        body = re.sub(r'(, )?\boptional = true\b(, )?',
                      lambda o: ", " if o.group(1) and o.group(2) else "", body)
        for feat in extra.get(name, []):
            body = re.sub(r'\bfeatures = \[([^\]]*)\]',
                          lambda o: f'features = [{o.group(1)}, "{feat}"]', body, count=1) \
                if "features = [" in body else f'{body}, features = ["{feat}"]'
        version = re.fullmatch(r'version = ("[^"]+")', body)
        if version:
            return f'{comments}{name} = {version.group(1)}\n'
        return f'{comments}{name} = {{ {body} }}\n'
    return OPTIONAL_DEP.sub(repl, head)


def rewrite_cargo(work, cargo, step, on):
    text = (work / "Cargo.toml").read_text()
    head, _, _ = text.partition("# One feature per chapter module")
    head = branch_dependencies(head.rstrip() + "\n", cargo, on)
    if step < bench_step():
        head = re.sub(r'\n\[\[bench\]\]\n(?:[a-z-]+ = [^\n]*\n)+', "\n", head)
        if (work / "benches").exists():
            shutil.rmtree(work / "benches")
    else:
        head = re.sub(r'required-features = \["step-\d+"\]\n', "", head)
    head += "\n[lints.rust]\nunsafe_code = \"deny\"\nunused_must_use = \"deny\"\n\n[lints.clippy]\ndbg_macro = \"warn\"\ntodo = \"warn\"\n\n[profile.release]\nopt-level = 3\nlto = \"thin\"\ncodegen-units = 4\n"
    (work / "Cargo.toml").write_text(re.sub(r"\n{3,}", "\n\n", head))


MAIN_ONLY_MD = re.compile(r"<!-- main-only -->.*?<!-- /main-only -->[ \t]*\n?", re.S)
BRANCH_ONLY_MD = re.compile(r"<!-- branch-only[ \t]*\n(.*?)-->[ \t]*\n?", re.S)
MAIN_ONLY_JUST = re.compile(r"(?m)^# main-only[ \t]*\n.*?^# /main-only[ \t]*\n", re.S)
BRANCH_ONLY_JUST = re.compile(r"(?m)^# branch-only[ \t]*\n(.*?)^# /branch-only[ \t]*\n", re.S)


def placeholders(text, step):
    nxt = f"{step + 1:02}" if step < 32 else ""
    return text.replace("@STEP@", f"{step:02}").replace("@NEXT@", nxt)


def branch_markdown(text, step):
    """Markdown as a branch shows it: `<!-- main-only -->...<!-- /main-only -->`
    goes, the body of `<!-- branch-only ... -->` is shown."""
    text = MAIN_ONLY_MD.sub("", text)
    text = BRANCH_ONLY_MD.sub(lambda m: placeholders(m.group(1), step), text)
    return re.sub(r"\n{3,}", "\n\n", text)


def branch_justfile(text, step):
    """A Justfile as a branch has it: `# main-only` ... `# /main-only`
    blocks go; in `# branch-only` ... `# /branch-only` blocks each line
    loses its leading `# ` (or `#`)."""
    text = MAIN_ONLY_JUST.sub("", text)

    def unc(m):
        lines = m.group(1).split("\n")
        return placeholders("\n".join(re.sub(r"^# ?", "", l) for l in lines), step)
    text = BRANCH_ONLY_JUST.sub(unc, text)
    return re.sub(r"\n{3,}", "\n\n", text)


def drop_step_rows(text, step):
    """Table rows of steps after `step`: `| [NN](...) |` or `| NN |`."""
    out = []
    for line in text.split("\n"):
        m = re.match(r"^\| \[?(\d\d)\]?[ (|]", line)
        if m and int(m.group(1)) > step:
            continue
        out.append(line)
    return "\n".join(out)


def rewrite_docs(work, step):
    steps_dir = work / "steps"
    for d in steps_dir.iterdir():
        m = re.match(r"(\d\d)-", d.name)
        if d.is_dir() and m and int(m.group(1)) > step:
            shutil.rmtree(d)
    jf = work / "Justfile"
    j = branch_justfile(jf.read_text(), step)
    j = re.sub(r'implemented := "[0-9 ]*"', 'implemented := "' + " ".join(str(i) for i in range(1, step + 1)) + '"', j)
    j = j.replace(" --no-default-features --features step-$(printf %02d {{N}})", "")
    j = j.replace(f" --no-default-features --features step-{LAST_STEP}", "")
    j = re.sub(r"\n# Benchmarks against[^\n]*\nbench:[^\n]*\n(    [^\n]*\n)*", "\n", j) if step < bench_step() else j
    j = re.sub(rf"\n    for n in \$\(seq 1 {LAST_STEP}\);[^\n]*", "", j)
    # The generator and its recipes belong to main.
    j = re.sub(r"\n# Make \(or refresh\) the git branch[^\n]*\nstep-branch N:\n(    [^\n]*\n)*", "\n", j)
    j = re.sub(r"\n# Every step branch;[^\n]*\nstep-branches \*CHECK:\n(    [^\n]*\n)*", "\n", j)
    j = re.sub(r"\n# What chapter N adds[^\n]*\nstep-diff N:\n(    [^\n]*\n)*", "\n", j)
    jf.write_text(j)
    (work / "scripts" / "step_branch.py").unlink(missing_ok=True)
    (work / "scripts" / "test_step_branch.py").unlink(missing_ok=True)
    # CI's script marks what only main runs as the Justfile does.
    ci = work / ".ci" / "run"
    ci.write_text(branch_justfile(ci.read_text(), step))
    for md in [work / "README.md", *sorted(steps_dir.rglob("*.md"))]:
        md.write_text(drop_step_rows(branch_markdown(md.read_text(), step), step))
    readme = work / "README.md"
    r = readme.read_text()
    nxt = f"step-{step + 1:02}" if step < LAST_STEP else None
    banner = (f"> This branch is **step {step:02}**: mydocker as it stands after chapter {step} of the series, "
              "generated from `main`. "
              + (f"The next chapter is the branch `{nxt}`; main's recipe `step-diff {step + 1}` shows what it adds.\n\n"
                 if nxt else "It is the last chapter.\n\n"))
    r = r.replace("# mydocker\n\n", "# mydocker\n\n" + banner, 1)
    readme.write_text(r)


# --- what a branch must not keep -------------------------------------------

SILENCER = re.compile(r"^\s*let _ = \(?\s*&?[\w.]+(?:\s*,\s*&?[\w.]+)*\s*,?\s*\)?;\s*$")
ALLOW_UNUSED = re.compile(r"#!?\[allow\([^\]]*\bunused")
# A path in a comment: under one of the project's top folders.
COMMENT_PATH = re.compile(r"(?<![\w./-])((?:src|tests|benches|scripts|steps|vagrant|\.ci)/[\w./-]*[\w/])")
MD_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def comment_of(line):
    """The text of a `//` comment on `line`, outside string literals."""
    in_str = False
    i = 0
    while i < len(line) - 1:
        c = line[i]
        if c == "\\" and in_str:
            i += 2
            continue
        if c == '"':
            in_str = not in_str
        elif not in_str and line.startswith("//", i):
            return line[i:]
        i += 1
    return None


def leftovers(work):
    """What a generated tree must not hold, as `file:line: why` lines:
    `let _ = ...;` kept only to use a name, `allow(unused...)`, comments
    naming files the branch lacks, Markdown links to them."""
    out = []
    for d in ("src", "tests", "benches"):
        for p in sorted((work / d).rglob("*.rs")) if (work / d).exists() else []:
            rel = p.relative_to(work)
            for n, line in enumerate(p.read_text().split("\n"), 1):
                if SILENCER.match(line):
                    out.append(f"{rel}:{n}: `{line.strip()}` only silences an unused name")
                if ALLOW_UNUSED.search(line):
                    out.append(f"{rel}:{n}: `{line.strip()}`: gate the unused code instead")
                comment = comment_of(line)
                for path in COMMENT_PATH.findall(comment or ""):
                    if not (work / path.rstrip("/.")).exists():
                        out.append(f"{rel}:{n}: the comment names {path}, which this branch lacks")
    for p in [work / "README.md", *sorted((work / "steps").rglob("*.md"))]:
        if not p.exists():
            continue
        rel = p.relative_to(work)
        for n, line in enumerate(p.read_text().split("\n"), 1):
            for target in MD_LINK.findall(line):
                if re.match(r"[a-z]+:", target):
                    continue
                if not (p.parent / target).exists():
                    out.append(f"{rel}:{n}: links to {target}, which this branch lacks")
            if re.search(r"main-only|branch-only", line):
                out.append(f"{rel}:{n}: a main-only/branch-only marker is left")
    jf = work / "Justfile"
    scripts = [jf, work / ".ci" / "run"]
    for p in scripts:
        if not p.exists():
            continue
        rel = p.relative_to(work)
        for n, line in enumerate(p.read_text().split("\n"), 1):
            if re.search(r"step_branch\.py|main-only|branch-only", line):
                out.append(f"{rel}:{n}: `{line.strip()}` belongs to main")
    out += missing_recipes(work)
    return out


# `just RECIPE` where a learner or CI would type it.
JUST_CALL = re.compile(r"(?<![\w-])just ([a-z][\w-]*)")
RECIPE_LINE = re.compile(r"^(@?[a-z][\w-]*)(?:\s+[^:=]*)?:(?!=)")
FENCE = re.compile(r"^\s*(```|~~~)")


def recipes(justfile_text):
    """The names of the recipes a Justfile defines."""
    return {m.group(1).lstrip("@") for line in justfile_text.split("\n")
            if (m := RECIPE_LINE.match(line))}


def code_of_markdown(text):
    """(line number, code) for each fenced code line and each inline
    `code` span of Markdown: where a command is shown, not prose."""
    fenced = False
    for n, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            yield n, line
        else:
            for span in re.findall(r"`([^`]+)`", line):
                yield n, span


def missing_recipes(work):
    """`just X` in the branch's READMEs, Justfile or CI script where its
    Justfile has no recipe X (say `just step-diff` on a branch)."""
    jf = work / "Justfile"
    if not jf.exists():
        return []
    have = recipes(jf.read_text())
    out = []

    def check(rel, n, code):
        for name in JUST_CALL.findall(code):
            if name not in have:
                out.append(f"{rel}:{n}: `just {name}`, a recipe this branch's Justfile lacks")
    for p in [work / "README.md", *sorted((work / "steps").rglob("*.md"))]:
        if p.exists():
            for n, code in code_of_markdown(p.read_text()):
                check(p.relative_to(work), n, code)
    for p in (jf, work / ".ci" / "run"):
        if p.exists():
            for n, line in enumerate(p.read_text().split("\n"), 1):
                check(p.relative_to(work), n, line)
    return out


# --- git --------------------------------------------------------------------

# What a check runs in a branch, in order: (phase, command). The branch's
# own integration tests are `stepNN_` (its README's examples among them).
def check_commands(step, tests):
    cmds = [("clippy", ["cargo", "clippy", "--quiet", "--all-targets", "--", "-D", "warnings"]),
            ("rustfmt", ["cargo", "fmt", "--all", "--", "--check"]),
            ("test build", ["cargo", "test", "--no-run", "--quiet", "--lib", "--bins", "--tests"])]
    if tests == "all":
        cmds.append(("tests", ["cargo", "test", "--no-fail-fast", "--lib", "--bins", "--tests"]))
    else:
        cmds += [("tests", ["cargo", "test", "--no-fail-fast", "--lib", "--bins"]),
                 ("tests", ["cargo", "test", "--no-fail-fast", "--test", "integration", f"step{step:02}_"])]
    return cmds


FAILURES = re.compile(r"(?ms)^failures:\n\n---- .*?^test result: FAILED[^\n]*")


def failure_excerpt(stdout, stderr):
    """What to show of a failed cargo command: the failures sections of a
    test run (each failing test's output, then the list), else the end of
    what it printed (a compiler's or clippy's errors)."""
    sections = FAILURES.findall(stdout)
    errors = [l for l in stderr.split("\n") if l.startswith("error")]
    if sections:
        return "\n\n".join(sections) + ("\n" + "\n".join(errors) if errors else "")
    tail = lambda text, n: "\n".join(text.rstrip("\n").split("\n")[-n:])
    return "\n".join(t for t in (tail(stdout, 30), tail(stderr, 120)) if t.strip())


class BranchFailed(Exception):
    def __init__(self, phase, detail):
        super().__init__(phase)
        self.phase, self.detail = phase, detail


def make_branch(step, check, tests="all"):
    """Generate the tree of chapter `step`, build it, and only then point
    the branch step-NN at it: a tree that does not `cargo build` is never
    emitted (nor, with `check`, one that fails clippy, rustfmt or its
    tests: all of them, or with `tests="own"` the unit tests and chapter
    `step`'s integration tests). Every branch shares one target directory,
    so the dependencies build once. Returns the seconds each phase took;
    raises BranchFailed naming the phase, with what to show of it."""
    branch = f"step-{step:02}"
    tmp = Path(tempfile.mkdtemp(prefix=f"mydocker-{branch}-"))
    work = tmp / "tree"
    times = {}
    clock = time.monotonic()

    def lap(phase):
        nonlocal clock
        now = time.monotonic()
        times[phase] = times.get(phase, 0) + now - clock
        clock = now
    sh("git", "worktree", "add", "--detach", str(work), "HEAD", cwd=TOP, capture=True)
    try:
        try:
            transform(work, step)
        except GateError as e:
            raise BranchFailed("generate", str(e))
        sh("cargo", "fmt", "--all", cwd=work, check=False, capture=True)
        sh("git", "add", "-A", cwd=work)
        sh("git", "-c", "user.name=mydocker", "-c", "user.email=steps@mydocker.invalid",
           "commit", "-q", "-m", f"Step {step:02}, generated from main", "--allow-empty", cwd=work)
        commit = sh("git", "rev-parse", "HEAD", cwd=work, capture=True).stdout.strip()
        lap("generate")
        env = dict(os.environ, CARGO_TARGET_DIR=str(TOP / "target" / "step-branches"))
        cmds = [("build", ["cargo", "build", "--quiet"])]
        if check:
            cmds += check_commands(step, tests)
        for phase, cmd in cmds:
            r = subprocess.run(cmd, cwd=work, env=env, text=True, capture_output=True)
            lap(phase)
            if r.returncode != 0:
                raise BranchFailed(phase, f"$ {' '.join(cmd)}\n" + failure_excerpt(r.stdout, r.stderr))
        sh("git", "branch", "-f", branch, commit, cwd=TOP)
        return times
    except BranchFailed as e:
        lap(e.phase)
        e.times = times
        raise
    finally:
        sh("git", "worktree", "remove", "--force", str(work), cwd=TOP, check=False, capture=True)
        shutil.rmtree(tmp, ignore_errors=True)


def report(branch, result, times):
    """One line per branch: its name, the result, the seconds in all and
    by phase."""
    phases = ", ".join(f"{p} {round(t)}s" for p, t in times.items())
    print(f"{branch}  {result:<18} {round(sum(times.values())):5}s  ({phases})", flush=True)


def main():
    args = sys.argv[1:]
    check = "--check" in args
    tests = "own" if "--own-tests" in args else "all"
    unknown = [a for a in args if not a.isdigit() and a not in ("--check", "--own-tests")]
    steps = [int(a) for a in args if a.isdigit()]
    if not steps or unknown:
        print(__doc__)
        return 2
    for s in steps:
        if not 1 <= s <= LAST_STEP:
            print(f"step {s}: there are steps 1 to {LAST_STEP}", file=sys.stderr)
            return 2
    failed = []
    for s in steps:
        branch = f"step-{s:02}"
        try:
            times = make_branch(s, check, tests)
            report(branch, "checked" if check else "made", times)
        except BranchFailed as e:
            failed.append(branch)
            report(branch, f"FAILED ({e.phase})", e.times)
            print(f"--- {branch}: {e.phase} failed; the branch is not made\n{e.detail.rstrip()}\n---",
                  flush=True)
        except subprocess.CalledProcessError as e:
            failed.append(branch)
            print(f"{branch}  FAILED (git)\n--- {' '.join(map(str, e.cmd))}\n{(e.stderr or '').rstrip()}\n---",
                  flush=True)
    if failed:
        print(f"{len(failed)} of {len(steps)} failed: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
