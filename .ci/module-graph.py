"""Fails when the top-level modules of a Rust crate import each other in a cycle.

The house style wants layers: state at the bottom, areas above it, the web
layer and the wiring on top, and no two modules calling each other both ways.
rustc accepts any web of `use crate::…` paths, so this reads them itself.

A file belongs to the top-level module it sits in (`src/portal.rs`,
`src/portal/mod.rs` and `src/portal/customers.rs` are all `portal`). Every path
that starts at the crate root (`crate::x`, `$crate::x`, `crate::{x, y::z}`, or
`super::x` where `super` climbs to the root) is an edge to the module `x`.
Comments and string literals are skipped, so a doc link is not an edge. The
crate roots themselves (`lib.rs`, `main.rs`, `src/bin/`) are left out: they sit
above everything.

A cycle is a strongly connected component of more than one module; each is
printed with the lines that make its edges. `--allow MODULE` takes a module out
of the graph (a module whose job is to know everyone, such as the wiring).

usage: module-graph.py [--allow MODULE]... [--graph] SRC_DIR
"""

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<line_comment>//[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<raw_string>b?r(?P<hashes>\#*)")
    | (?P<string>b?"(?:\\.|[^"\\])*")
    | (?P<char>b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^'\\\n])')
    | (?P<lifetime>'[A-Za-z_]\w*)
    | (?P<ident>\$?[A-Za-z_]\w*)
    | (?P<path_sep>::)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)
CRATE_ROOTS = {"lib.rs", "main.rs"}


def tokens(source: str):
    """(kind, text, line) of the code, without comments and literals."""
    pos, line = 0, 1
    while pos < len(source):
        match = TOKEN.match(source, pos)
        kind = match.lastgroup
        if kind == "hashes":
            kind = "raw_string"
        end = match.end()
        if kind == "block_comment":
            depth, end = 1, pos + 2
            while depth and end < len(source):
                if source.startswith("/*", end):
                    depth, end = depth + 1, end + 2
                elif source.startswith("*/", end):
                    depth, end = depth - 1, end + 2
                else:
                    end += 1
        elif kind == "raw_string":
            closing = '"' + match.group("hashes")
            found = source.find(closing, end)
            end = len(source) if found < 0 else found + len(closing)
        if kind in ("ident", "path_sep", "punct"):
            yield kind, match.group(), line
        line += source.count("\n", pos, end)
        pos = end


def module_path(src: Path, file: Path) -> list[str]:
    """The module a file defines, as path segments from the crate root."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return parts


def group_heads(toks, start):
    """The first segment of each item of a `{a, b::c, self}` use group at `start`."""
    heads, depth, expect = [], 0, True
    for kind, text, line in toks[start:]:
        if text == "{":
            depth += 1
            expect = depth == 1
            continue
        if text == "}":
            depth -= 1
            if depth == 0:
                break
            continue
        if depth == 1:
            if text == ",":
                expect = True
            elif expect and kind == "ident":
                heads.append((text, line))
                expect = False
            elif kind != "path_sep":
                expect = False
    return heads


def imports(src: Path, file: Path):
    """(top-level module, line) of every path in `file` that leaves through the crate root."""
    toks = list(tokens(file.read_text()))
    path = module_path(src, file)
    # Inline modules (`mod tests { … }`) move `super` one level down.
    inline, depth, pending_mod = [], 0, None
    found = []
    i = 0
    while i < len(toks):
        kind, text, line = toks[i]
        if text == "{":
            depth += 1
            if pending_mod is not None:
                inline.append((pending_mod, depth))
                pending_mod = None
        elif text == "}":
            if inline and inline[-1][1] == depth:
                inline.pop()
            depth -= 1
        elif text == ";":
            pending_mod = None
        elif text == "mod" and i + 1 < len(toks) and toks[i + 1][0] == "ident":
            pending_mod = toks[i + 1][1]
        previous = toks[i - 1][1] if i else ""
        starts_path = previous != "::" and previous != "in"
        if starts_path and text in ("crate", "$crate", "super"):
            # `j` ends on the last `crate`/`super` of the path's head.
            j, here = i, []
            if text == "super":
                here = path + [name for name, _ in inline]
                while True:
                    here = here[:-1]
                    if j + 2 < len(toks) and toks[j + 1][1] == "::" and toks[j + 2][1] == "super":
                        j += 2
                    else:
                        break
            if here or j + 1 >= len(toks) or toks[j + 1][1] != "::":
                i += 1
                continue
            after = j + 2
            if after < len(toks):
                if toks[after][1] == "{":
                    found.extend(group_heads(toks, after))
                elif toks[after][0] == "ident":
                    found.append((toks[after][1], toks[after][2]))
        i += 1
    return found


def graph(src: Path):
    """Edges between top-level modules, each with the lines that make it."""
    modules = {}
    for file in sorted(src.rglob("*.rs")):
        relative = file.relative_to(src)
        if len(relative.parts) == 1 and relative.name in CRATE_ROOTS or relative.parts[0] == "bin":
            continue
        modules.setdefault(module_path(src, file)[0], []).append(file)
    edges = defaultdict(lambda: defaultdict(list))
    for module, files in modules.items():
        for file in files:
            for target, line in imports(src, file):
                if target in modules and target != module:
                    edges[module][target].append(f"{file}:{line}")
    return set(modules), edges


def strongly_connected(nodes, edges):
    """Tarjan's algorithm; components in reverse topological order."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in nodes:
                continue
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return components


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="the crate's src directory")
    parser.add_argument("--allow", action="append", default=[], metavar="MODULE",
                        help="leave this top-level module out of the check (repeatable)")
    parser.add_argument("--graph", action="store_true", help="print every edge, not only cycles")
    args = parser.parse_args()
    if not args.src.is_dir():
        parser.error(f"{args.src} is not a directory")

    modules, edges = graph(args.src)
    unknown = set(args.allow) - modules
    if unknown:
        parser.error(f"--allow names no module of {args.src}: {', '.join(sorted(unknown))}")
    nodes = modules - set(args.allow)

    if args.graph:
        for module in sorted(nodes):
            targets = sorted(t for t in edges.get(module, ()) if t in nodes)
            print(f"{module} -> {', '.join(targets) if targets else '(nothing)'}")

    cycles = [c for c in strongly_connected(nodes, edges) if len(c) > 1]
    for component in cycles:
        print(f"cycle between top-level modules of {args.src}: {', '.join(component)}")
        members = set(component)
        for module in component:
            for target in sorted(edges.get(module, ())):
                if target in members:
                    for where in edges[module][target]:
                        print(f"  {module} -> {target}  {where}")
    if cycles:
        return 1
    allowed = f" (not checked: {', '.join(sorted(args.allow))})" if args.allow else ""
    print(f"{args.src}: {len(nodes)} top-level modules, no import cycle{allowed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
