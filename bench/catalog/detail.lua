-- GET /api/products/<id> over the ids scripts/bench-catalog.sh writes to .local/bench-catalog-ids.txt (BENCH_IDS).
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS") or ".local/bench-catalog-ids.txt") do ids[#ids + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/products/" .. ids[(i % #ids) + 1])
end
