-- GET /api/products?category=<slug>: a root category with its descendants, or a leaf, newest first.
local i = 0
request = function()
  i = i + 1
  local r = (i % 10) + 1
  if i % 2 == 0 then
    return wrk.format("GET", "/api/products?limit=24&descendants=true&category=root-" .. r)
  end
  return wrk.format("GET", "/api/products?limit=24&category=cat-" .. r .. "-" .. ((i % 9) + 1))
end
