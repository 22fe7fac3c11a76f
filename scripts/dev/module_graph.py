"""The module graph of `swift package dump-package` (stdin): see scripts/module-graph.sh.

Also imported by scripts/dev/check_boundaries.py, which holds the layers to the rules in scripts/boundaries.allow.
"""
import json
import sys

# The layers, lowest first; a module may depend only on its own layer or lower ones (checked by check_boundaries.py,
# with the domain-to-domain edges it allows).
LAYERS = [
    ("system", "C modules over the system libraries (module maps only)"),
    ("ground", "what everything shares: errors, ids, money, settings parsing, the ports domains talk through"),
    ("infrastructure", "databases, crypto, sockets, mail, media files: no domain knowledge"),
    ("shared", "what every domain writes to in its own transaction: the domain event outbox, the admin audit log"),
    ("domain", "one room each, owning its tables"),
    ("composition", "modules that put domains together: the operator's half, the application"),
    ("executable", "binaries, benchmarks, fuzzers, demo data"),
    ("test", "test targets and their support"),
]
INFRASTRUCTURE = {"AgoraPool", "AgoraPostgres", "AgoraRedis", "AgoraCrypto", "AgoraMail", "AgoraPush", "AgoraWebSocket", "AgoraMedia", "AgoraNet"}
GROUND = {"AgoraCore"}
SHARED = {"AgoraEvents", "AgoraAudit"}
DOMAINS = {"Accounts", "Catalog", "Social", "Commerce", "Realtime", "Notifications", "Chat", "Moderation"}
COMPOSITION = {"Admin", "AgoraApp"}


def layer(target):
    name, kind = target["name"], target["type"]
    if kind == "system":
        return "system"
    if kind == "test" or target.get("path", "") and target["path"].startswith("Tests/"):
        return "test"
    if kind == "executable":
        return "executable"
    if name in INFRASTRUCTURE:
        return "infrastructure"
    if name in GROUND:
        return "ground"
    if name in SHARED:
        return "shared"
    if name in DOMAINS:
        return "domain"
    if name in COMPOSITION:
        return "composition"
    return "executable" if name.endswith("Demo") else "unclassified"


def graph(package):
    """{name: (layer, [package dependencies])} in declaration order."""
    names = {t["name"] for t in package["targets"]}
    out = {}
    for target in package["targets"]:
        deps = []
        for dep in target.get("dependencies", []):
            for kind in ("byName", "target"):
                if kind in dep and dep[kind][0] in names:
                    deps.append(dep[kind][0])
        out[target["name"]] = (layer(target), deps)
    return out


def main(argv):
    modules = graph(json.load(sys.stdin))
    if "--no-tests" in argv:
        modules = {n: v for n, v in modules.items() if v[0] != "test"}
    if "--json" in argv:
        json.dump({n: deps for n, (_, deps) in modules.items()}, sys.stdout, indent=2)
        print()
        return
    if "--dot" in argv:
        print("digraph agora {\n  rankdir=BT;\n  node [shape=box, fontname=Helvetica];")
        for name, _ in LAYERS:
            members = [n for n, (l, _) in modules.items() if l == name]
            if members:
                print(f'  subgraph "cluster_{name}" {{ label="{name}"; ' + " ".join(f'"{m}";' for m in members) + " }")
        for n, (_, deps) in modules.items():
            for d in deps:
                print(f'  "{n}" -> "{d}";')
        print("}")
        return
    for name, about in LAYERS:
        members = [(n, deps) for n, (l, deps) in modules.items() if l == name]
        if not members:
            continue
        print(f"{name}: {about}")
        width = max(len(n) for n, _ in members)
        for n, deps in members:
            print(f"  {n.ljust(width)}  -> {', '.join(deps) if deps else '(none)'}")
    odd = [n for n, (l, _) in modules.items() if l == "unclassified"]
    if odd:
        print("unclassified (add them to scripts/dev/module_graph.py): " + ", ".join(odd))


if __name__ == "__main__":
    main(sys.argv[1:])
