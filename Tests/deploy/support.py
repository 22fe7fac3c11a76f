"""What the deployment checks share (Tests/deploy/deploy_check.py, Tests/cluster/cluster_check.py): a prefixed log, a
check that ends the run on the first failure, and a plain HTTP call that returns error statuses instead of raising."""
import json
import sys
import urllib.error
import urllib.request

PREFIX = ["check"]


def log(message):
    print(f"[{PREFIX[0]}] {message}", flush=True)


def check(condition, message):
    if not condition:
        log(f"FAILED: {message}")
        sys.exit(1)
    log(f"ok: {message}")


def http(method, url, body=None, headers=None, raw=None, timeout=10):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def json_of(answer):
    status, _, payload = answer
    try:
        return status, json.loads(payload or b"{}")
    except ValueError:
        return status, {"raw": payload[:200].decode("latin-1")}
