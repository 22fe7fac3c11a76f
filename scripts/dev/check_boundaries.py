"""Checks that the modules keep to their rooms (scripts/check-boundaries.sh runs it; the test command runs that).

Reads the module graph from `swift package dump-package` (stdin) and the rules from scripts/boundaries.allow, then:

1. every package target has a layer (scripts/dev/module_graph.py) and depends only on its own layer or lower ones;
2. a domain depends on another domain only along an edge the allow file lists with its reason;
3. no source file imports a package module its target does not declare (SwiftPM lets a transitively built module
   be imported by accident), and no source file uses `@testable import`;
4. a module's SQL names only the tables it owns, or a foreign table the allow file lists for it with the reason;
5. the allow file has no stale entries: each allowed edge and use still happens.

Exits 1 with one line per violation.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import module_graph  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
ORDER = [name for name, _ in module_graph.LAYERS]
SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)\b")
IMPORT = re.compile(r"^\s*(?:@[\w()]+\s+)*(?:public |package |internal |private |fileprivate )?import\s+(?:class |struct |enum |protocol |func |var |let )?(\w+)")


def read_rules(path):
    owners, edges, uses = {}, {}, {}
    for number, raw in enumerate(open(path), 1):
        line, _, reason = raw.partition("#")
        words = line.split()
        if not words:
            continue
        where = f"{os.path.relpath(path, ROOT)}:{number}"
        if words[0] == "owns" and len(words) >= 3:
            for table in words[2:]:
                owners[table] = words[1]
        elif words[0] in ("depends", "uses") and len(words) == 4 and words[2] == "->":
            if not reason.strip():
                sys.exit(f"{where}: an allowed {words[0]} needs its reason after '#'")
            (edges if words[0] == "depends" else uses)[(words[1], words[3])] = where
        else:
            sys.exit(f"{where}: cannot read '{raw.rstrip()}'")
    return owners, edges, uses


def swift_files(module):
    base = os.path.join(ROOT, "Sources", module)
    for folder, _, files in os.walk(base):
        for name in sorted(files):
            if name.endswith(".swift"):
                yield os.path.join(folder, name)


def main():
    modules = module_graph.graph(json.load(sys.stdin))
    owners, edges, uses = read_rules(os.path.join(ROOT, "scripts", "boundaries.allow"))
    problems, seen_edges, seen_uses = [], set(), set()

    for name, (layer, deps) in modules.items():
        if layer == "unclassified":
            problems.append(f"{name}: no layer; add it to scripts/dev/module_graph.py")
            continue
        for dep in deps:
            dep_layer = modules[dep][0]
            if layer == "domain" and dep_layer == "domain":
                if (name, dep) in edges:
                    seen_edges.add((name, dep))
                else:
                    problems.append(f"Package.swift: domain {name} depends on domain {dep}; "
                                    f"allow it in scripts/boundaries.allow with the reason, or go through a port")
            elif dep_layer in ORDER and layer in ORDER and ORDER.index(dep_layer) > ORDER.index(layer):
                problems.append(f"Package.swift: {name} ({layer}) depends on {dep} ({dep_layer}), a higher layer")

    for name, (layer, deps) in modules.items():
        if layer in ("system", "test"):
            continue
        declared = set(deps)
        for path in swift_files(name):
            rel = os.path.relpath(path, ROOT)
            for number, text in enumerate(open(path, encoding="utf-8"), 1):
                stripped = text.strip()
                if stripped.startswith("//"):
                    continue
                found = IMPORT.match(text)
                if found:
                    if "@testable" in text:
                        problems.append(f"{rel}:{number}: @testable import in a source module")
                    imported = found.group(1)
                    if imported in modules and imported not in declared and imported != name:
                        problems.append(f"{rel}:{number}: imports {imported}, which {name} does not declare in Package.swift")
                    continue
                if layer in ("executable",):
                    continue
                for table in SQL_TABLE.findall(text):
                    owner = owners.get(table)
                    if owner is None or owner == name:
                        continue
                    if (name, table) in uses:
                        seen_uses.add((name, table))
                    else:
                        problems.append(f"{rel}:{number}: {name} uses {owner}'s table {table}; "
                                        f"ask {owner} through a port, or allow it in scripts/boundaries.allow with the reason")

    for edge, where in edges.items():
        if edge not in seen_edges:
            problems.append(f"{where}: stale: {edge[0]} no longer depends on {edge[1]}")
    for use, where in uses.items():
        if use not in seen_uses:
            problems.append(f"{where}: stale: {use[0]} no longer uses {use[1]}")

    for line in sorted(set(problems)):
        print(line)
    if problems:
        print(f"check-boundaries: {len(set(problems))} problem(s)", file=sys.stderr)
        sys.exit(1)
    print(f"check-boundaries: {len(modules)} modules, {len(edges)} domain edges and {len(uses)} foreign table uses allowed, all held")


if __name__ == "__main__":
    main()
