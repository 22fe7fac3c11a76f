#!/usr/bin/env python3
"""Schemathesis against a running Agora, as anonymous, buyer, seller and admin (started by scripts/schemathesis.sh).

Each role gets its own account, made through the API as a client would (register, verify the email from the
development mailbox, become a seller; `agora set-role` for the admin, the only way there is), then one
`schemathesis run` over every operation of Public/openapi.json with that role's bearer token.

The document is tested strictly: its `default` responses (which say "any other status is an error in the usual shape")
are dropped from the copy schemathesis reads, so a status the document does not list for an operation is a failure,
not a pass. Any 5xx is a failure too. The run is bounded and deterministic: a fixed seed, deterministic generation,
at most AGORA_SCHEMATHESIS_EXAMPLES (20) cases per operation and phase, one worker.

Every check runs but positive_data_acceptance (see --exclude-checks). Under a role, the operations that end its session
are left to the anonymous run (SESSION_ENDING). hooks.py drops only cases that cannot mean what they claim.

Environment (set by scripts/schemathesis.sh): AGORA_SCHEMATHESIS_URL, AGORA_SCHEMATHESIS_BIN (the agora binary, for
set-role, with the server's database settings in the environment), AGORA_SCHEMATHESIS_MAILBOX, AGORA_SCHEMATHESIS_WORKDIR.
"""
import argparse
import glob
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "Public" / "openapi.json"
HERE = pathlib.Path(__file__).resolve().parent
ROLES = ("anonymous", "buyer", "seller", "admin")
PASSWORD = "schemathesis-password-1"
# Operations that end the session they are called with: under a role they would turn the rest of its run into 401s.
# The anonymous run calls them (without a session, which is what a fuzzer can reach) and Swift tests cover the rest.
SESSION_ENDING = ("logout", "logoutAll", "endSession")


def log(message):
    print(f"[schemathesis] {message}", file=sys.stderr, flush=True)


# MARK: accounts through the API

class API:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def expect(self, status, method, path, body=None, token=None):
        got, answer = self.call(method, path, body, token)
        if got != status:
            sys.exit(f"[schemathesis] {method} {path}: expected {status}, got {got}: {answer}")
        return answer


def mailed_token(mailbox, email, page="verify-email", wait=20):
    """The token of the newest development mail to `email` that links to /<page>?token=."""
    deadline = time.time() + wait
    while time.time() < deadline:
        for path in sorted(glob.glob(os.path.join(mailbox, "*")), key=os.path.getmtime, reverse=True):
            text = pathlib.Path(path).read_text(encoding="utf-8", errors="replace")
            if email in text:
                # Quoted-printable may fold long lines with "=\n" and encode "=" as "=3D".
                unfolded = text.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
                match = re.search(rf"/{page}\?token=([A-Za-z0-9_\-]+)", unfolded)
                if match:
                    return match.group(1)
        time.sleep(0.2)
    sys.exit(f"[schemathesis] no {page} mail for {email} in {mailbox}")


def make_accounts(api, mailbox, agora):
    """A bearer token for each role but anonymous, each from an account made for this run."""
    tokens = {"anonymous": None}
    for role in ("buyer", "seller", "admin"):
        username = f"st_{role}"
        email = f"{username}@example.com"
        api.expect(201, "POST", "/api/auth/register",
                   {"email": email, "username": username, "displayName": f"Schemathesis {role}", "password": PASSWORD})
        api.expect(200, "POST", "/api/auth/verify-email", {"token": mailed_token(mailbox, email)})
        if role == "admin":
            subprocess.run([agora, "set-role", username, "admin"], check=True, stdout=subprocess.DEVNULL)
        grant = api.expect(200, "POST", "/api/auth/login", {"email": email, "password": PASSWORD})
        token = grant["accessToken"]
        if role == "seller":
            token = api.expect(200, "POST", "/api/me/seller", token=token)["accessToken"]
        tokens[role] = token
    return tokens


def test_data(api, tokens):
    """Real usernames and product ids, so generated requests also reach existing resources instead of only 404s."""
    products = api.expect(200, "GET", "/api/products?limit=50")["items"]
    usernames = sorted({item["seller"]["username"] for item in products} | {"demo_buyer", "st_buyer", "st_seller", "st_admin"})
    return usernames, [item["id"] for item in products]


def write_config(path, usernames, product_ids):
    """A schemathesis.toml that draws names and ids from `usernames` and `product_ids` half of the time."""
    def strings(values):
        return "[" + ", ".join(json.dumps(value) for value in values) + "]"
    bindings = {
        "path.username": "usernames", "body.username": "usernames",
        "path.productId": "products", "body.productId": "products", "path.id": "products",
    }
    lines = [
        "[dictionaries.usernames]", f"values = {strings(usernames)}",
        "[dictionaries.products]", f"values = {strings(product_ids)}",
        "[parameters]",
    ]
    lines += [f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}' for key, name in bindings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# MARK: the document, strictly

def strict_document(base, path):
    """Public/openapi.json without `default` responses, served from `base`; written to `path`."""
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    document["servers"] = [{"url": base}]
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].pop("default", None)
    path.write_text(json.dumps(document), encoding="utf-8")


# MARK: runs

def run_role(args, role, token, document, workdir):
    report = workdir / f"report-{role}.ndjson"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(workdir / "schemathesis.toml"),
        "run", str(document), "--url", args.url,
        "--checks", args.checks, "--exclude-checks", args.exclude_checks, "--continue-on-failure",
        "--seed", str(args.seed), "--generation-deterministic",
        "--max-examples", str(args.max_examples),
        "--workers", "1",
        "--request-timeout", "30",
        "--phases", args.phases,
        "--no-color", "--output-truncate", "true",
        "--report", "ndjson", "--report-ndjson-path", str(report),
        # The WebSocket upgrade is not an HTTP API operation (Tests/interop and RealtimeTests drive it).
        "--exclude-path", "/ws",
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
        for operation_id in SESSION_ENDING:
            command += ["--exclude-operation-id", operation_id]
    shown = ["Authorization: Bearer …" if c.startswith("Authorization:") else c for c in command[5:]]
    log(f"{role}: st {' '.join(shown)}")
    environment = dict(os.environ, SCHEMATHESIS_HOOKS=str(HERE / "hooks.py"))
    started = time.time()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=environment)
    elapsed = time.time() - started
    (workdir / f"output-{role}.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    return result, figures(report), elapsed


def figures(report):
    """Requests, check results, failed checks and responses by status class, from a run's NDJSON report."""
    counts = {"requests": 0, "checks": 0, "failed": 0, "5xx": 0, "statuses": {}}
    if not report.exists():
        return counts
    with report.open(encoding="utf-8") as events:
        for line in events:
            # Only scenario results count; skip the (large) other events without parsing them.
            if not line.startswith('{"ScenarioFinished"'):
                continue
            recorder = json.loads(line)["ScenarioFinished"]["recorder"]
            for interaction in recorder.get("interactions", {}).values():
                counts["requests"] += 1
                status = (interaction.get("response") or {}).get("status_code")
                if status is not None:
                    family = f"{status // 100}xx"
                    counts["statuses"][family] = counts["statuses"].get(family, 0) + 1
                    counts["5xx"] += status >= 500
            for checks in recorder.get("checks", {}).values():
                for check in checks:
                    counts["checks"] += 1
                    counts["failed"] += check.get("status") == "failure"
    return counts


def failure_section(output):
    """The FAILURES part of schemathesis's output, if any."""
    if "FAILURES" not in output:
        return ""
    section = output.split("FAILURES", 1)[1]
    for end in ("WARNINGS", "SUMMARY"):
        section = section.split(f"= {end} =", 1)[0] if f"= {end} =" in section else section
    return section.strip("= \n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", action="append", choices=ROLES, help="run only this role (repeatable)")
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("AGORA_SCHEMATHESIS_EXAMPLES", "20")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("AGORA_SCHEMATHESIS_SEED", "20250101")))
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--checks", default="all")
    # positive_data_acceptance wants a 2xx (or 401/403/404/409) for every schema-valid request, but much of what
    # Agora refuses with a documented 400 or 422 no schema can express: a verification token that was never issued,
    # a cursor from another query, a username already taken, minPrice above maxPrice, an empty cart at checkout.
    parser.add_argument("--exclude-checks", default="positive_data_acceptance")
    args = parser.parse_args()
    args.url = os.environ["AGORA_SCHEMATHESIS_URL"]
    workdir = pathlib.Path(os.environ["AGORA_SCHEMATHESIS_WORKDIR"])

    api = API(args.url)
    tokens = make_accounts(api, os.environ["AGORA_SCHEMATHESIS_MAILBOX"], os.environ["AGORA_SCHEMATHESIS_BIN"])
    document = workdir / "openapi-strict.json"
    strict_document(args.url, document)
    write_config(workdir / "schemathesis.toml", *test_data(api, tokens))

    rows = []
    failed = False
    for role in args.role or ROLES:
        result, counts, elapsed = run_role(args, role, tokens[role], document, workdir)
        output = result.stdout + result.stderr
        # Exit 1 is "failures found"; anything else (a schema the tool cannot load, a crash) is as bad.
        role_failed = result.returncode != 0 or counts["failed"] > 0 or counts["5xx"] > 0 or counts["requests"] == 0
        if role_failed:
            print(f"\n===== {role}: failures =====\n{failure_section(output) or output[-4000:]}\n")
        rows.append((role, counts, elapsed, role_failed))
        failed |= role_failed

    print(f"{'role':<10} {'requests':>9} {'checks':>9} {'failed':>7} {'5xx':>5}  statuses                       time")
    total = {"requests": 0, "checks": 0, "failed": 0, "5xx": 0}
    for role, counts, elapsed, _ in rows:
        statuses = " ".join(f"{family}:{count}" for family, count in sorted(counts["statuses"].items()))
        print(f"{role:<10} {counts['requests']:>9} {counts['checks']:>9} {counts['failed']:>7} {counts['5xx']:>5}  {statuses:<30} {elapsed:4.0f}s")
        for key in total:
            total[key] += counts[key]
    print(f"{'total':<10} {total['requests']:>9} {total['checks']:>9} {total['failed']:>7} {total['5xx']:>5}")
    print("schemathesis: " + ("FAILED (AGORA_SCHEMATHESIS_KEEP=1 keeps the reports and output)" if failed else "passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
