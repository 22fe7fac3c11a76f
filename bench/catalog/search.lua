-- GET /api/products?q=<term>: brands, things and two-word searches, a few with typos.
local terms = {"sony", "camera", "vintage+guitar", "wireless+headphones", "lenovo+laptop", "drill", "premium+watch",
  "iphnoe", "sumsung", "gutiar", "portable+speaker", "compact+camera", "nike+sneakers", "kettle", "refurbished+phone"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/products?limit=24&q=" .. terms[(i % #terms) + 1])
end
