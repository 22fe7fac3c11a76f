#!/usr/bin/env python3
"""Checks Public/openapi.json, the OpenAPI 3.1 document of Agora's HTTP API.

    scripts/openapi-check.py           validate the document (needs the `openapi-spec-validator` package)
    scripts/openapi-check.py --list    print its operations as `METHOD /path`, one per line, sorted

Validation also checks what the validator does not: unique operationIds, a summary and a `default` response on every
operation, and that every error response of an operation uses the one shared `Error` schema. Without
`openapi-spec-validator` installed the validation step says so and exits 0 (`pip install openapi-spec-validator`).
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPEC = ROOT / "Public" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Error statuses whose body is deliberately not `Error`: the readiness report (503 names the dependency that is down)
# and the WebSocket handshake (malformed handshakes are answered before routing, with a shorter body).
OWN_ERROR_SHAPES = {("get", "/health/ready", "503"), ("get", "/ws", "400"), ("get", "/ws", "426"),
                    # A share page that is not there is still the app's page (HTML), so the PWA boots and says so.
                    ("get", "/p/{slug}", "404"), ("get", "/s/{username}", "404"),
                    # A range beyond an image: HTTP's bare 416 with `Content-Range: bytes */size`, as range clients expect.
                    ("get", "/media/{key}", "416"), ("head", "/media/{key}", "416")}


def load():
    try:
        with SPEC.open(encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        sys.exit(f"openapi-check: cannot read {SPEC}: {error}")


def operations(spec):
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def listing(spec):
    return sorted(f"{method.upper()} {path}" for method, path, _ in operations(spec))


def resolve(spec, node):
    """Follows local `$ref`s until a node without one."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        target = node["$ref"]
        if target in seen or not target.startswith("#/"):
            return node
        seen.add(target)
        node = spec
        for part in target[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def own_checks(spec):
    problems = []
    ids = {}
    for method, path, operation in operations(spec):
        name = f"{method.upper()} {path}"
        op_id = operation.get("operationId")
        if not op_id:
            problems.append(f"{name}: no operationId")
        elif op_id in ids:
            problems.append(f"{name}: operationId {op_id} also used by {ids[op_id]}")
        else:
            ids[op_id] = name
        if not operation.get("summary"):
            problems.append(f"{name}: no summary")
        responses = operation.get("responses", {})
        if "default" not in responses:
            problems.append(f"{name}: no default response")
        for status, response in responses.items():
            if not (status == "default" or status.startswith(("4", "5"))):
                continue
            content = resolve(spec, response).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if (method, path, status) not in OWN_ERROR_SHAPES and schema.get("$ref") != "#/components/schemas/Error":
                problems.append(f"{name}: response {status} does not use #/components/schemas/Error")
    return problems


def validate(spec):
    try:
        from openapi_spec_validator import validate as validate_spec
    except ImportError:
        try:
            from openapi_spec_validator import validate_spec  # older releases
        except ImportError:
            print("openapi-check: openapi-spec-validator is not installed (pip install openapi-spec-validator); "
                  "skipping the OpenAPI 3.1 validation")
            return 0
    try:
        validate_spec(spec)
    except Exception as error:  # the validator's own exception types differ between releases
        print(f"openapi-check: {SPEC.relative_to(ROOT)} is not valid OpenAPI 3.1: {error}", file=sys.stderr)
        return 1
    problems = own_checks(spec)
    for problem in problems:
        print(f"openapi-check: {problem}", file=sys.stderr)
    if problems:
        return 1
    count = sum(1 for _ in operations(spec))
    print(f"openapi-check: {SPEC.relative_to(ROOT)} is valid OpenAPI {spec.get('openapi')} ({count} operations)")
    return 0


def main(argv):
    spec = load()
    if "--list" in argv[1:]:
        print("\n".join(listing(spec)))
        return 0
    unknown = [a for a in argv[1:] if a not in ("--list",)]
    if unknown:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return validate(spec)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
