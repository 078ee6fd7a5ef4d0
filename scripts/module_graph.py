#!/usr/bin/env python3
"""The import graph between mydocker's top-level modules, and its rules.

Every `crate::MODULE` path in a file's code (comments left out; `use
crate::{a, b::c}` groups included) is an edge from the top-level module
holding the file (`src/network/mode.rs` is in `network`) to MODULE. The
graph must have no cycle, and the engine's modules (`container`, `fs`,
`cgroups`, `network`) never reach up to the command line (`cli`), nor the
network to the container: `network` hands `run` an endpoint to record.

    python3 scripts/module_graph.py [SRC]   # prints the graph; exit 1 on a breach
"""

import re
import sys
from pathlib import Path

# (from, to): an import that must not exist.
FORBIDDEN = [
    ("container", "cli"),
    ("fs", "cli"),
    ("cgroups", "cli"),
    ("network", "cli"),
    ("network", "container"),
]

_PATH = re.compile(r"crate::(\{[^}]*\}|\w+)")
_GROUP_HEAD = re.compile(r"(?:^\{|,)\s*(\w+)")


def code_of(text):
    """`text` without its comments (line and block), strings kept."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def modules(src):
    """The top-level modules: `src/X.rs` and `src/X/`, not lib nor main."""
    names = {p.stem for p in src.glob("*.rs")} | {p.name for p in src.iterdir() if p.is_dir()}
    return names - {"lib", "main"}


def graph(src):
    """{module: {imported module: [files]}} for the crate at `src`."""
    src = Path(src)
    tops = modules(src)
    edges = {}
    for f in sorted(src.rglob("*.rs")):
        parts = f.relative_to(src).parts
        top = parts[0][:-3] if len(parts) == 1 else parts[0]
        if top not in tops:
            continue
        for m in _PATH.finditer(code_of(f.read_text())):
            target = m.group(1)
            names = _GROUP_HEAD.findall(target) if target.startswith("{") else [target]
            for name in names:
                if name in tops and name != top:
                    edges.setdefault(top, {}).setdefault(name, []).append(str(f))
    return edges


def cycles(edges):
    """Each cycle found, as a list of modules [a, b, ..., a]."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def breaches(edges):
    """Every rule broken, one line each."""
    out = [f"cycle: {' -> '.join(c)}" for c in cycles(edges)]
    for a, b in FORBIDDEN:
        for f in edges.get(a, {}).get(b, []):
            out.append(f"{a} must not import {b}: {f}")
    return out


def main(argv):
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "src"
    edges = graph(src)
    for a in sorted(edges):
        print(f"{a} -> {', '.join(sorted(edges[a]))}")
    bad = breaches(edges)
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
