-- wrk script: POST /api/auth/login with the benchmark account's credentials (BENCH_EMAIL, BENCH_PASSWORD).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))

local failures = 0
function response(status, headers, body)
    if status ~= 200 then failures = failures + 1 end
end
function done(summary, latency, requests)
    io.write(string.format("non200=%d\n", failures))
end
