"""Times failed logins: an unknown email against a known email with a wrong password, interleaved.

Prints the median of each and their ratio; the two should take the same time (bcrypt runs against a decoy hash
when no account matches), so a client cannot tell which emails are registered.

    python3 login_timing.py PORT KNOWN_EMAIL [SAMPLES]
"""
import http.client
import json
import statistics
import sys
import time

port, known = int(sys.argv[1]), sys.argv[2]
samples = int(sys.argv[3]) if len(sys.argv) > 3 else 15
connection = http.client.HTTPConnection("127.0.0.1", port)


def attempt(email):
    body = json.dumps({"email": email, "password": "definitely wrong"})
    start = time.perf_counter()
    connection.request("POST", "/api/auth/login", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    assert response.status == 401, response.status
    return elapsed * 1000


unknown, wrong = [], []
for i in range(samples):
    unknown.append(attempt(f"nobody{i}@example.com"))
    wrong.append(attempt(known))
mu, mw = statistics.median(unknown), statistics.median(wrong)
print(f"unknown_email_ms={mu:.1f} wrong_password_ms={mw:.1f} ratio={mu / mw:.3f}")
