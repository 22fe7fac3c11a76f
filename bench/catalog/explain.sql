-- The plans behind scripts/bench-catalog.sh's figures: the statements ProductService sends (the column list trimmed to
-- what matters for the plan; the image subquery runs once per returned row).
\pset pager off
\echo '== search: q=wireless sony headphones, sort=relevance'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON)
SELECT p.id, ts_rank(p.search, websearch_to_tsquery('english', 'wireless sony headphones'))::float8 AS score
FROM products p LEFT JOIN categories c ON c.id = p.category_id
WHERE p.status = 'published' AND p.search @@ websearch_to_tsquery('english', 'wireless sony headphones')
ORDER BY score DESC, p.id DESC LIMIT 25;

\echo '== search, newest first: q=camera, sort=newest'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON)
SELECT p.id FROM products p
WHERE p.status = 'published' AND p.search @@ websearch_to_tsquery('english', 'camera')
ORDER BY p.published_at DESC, p.id DESC LIMIT 25;

\echo '== category listing with descendants: category=root-3&descendants=true, sort=newest'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON)
SELECT p.id FROM products p
WHERE p.status = 'published'
  AND p.category_id IN (WITH RECURSIVE tree AS (SELECT (SELECT id FROM categories WHERE slug = 'root-3') AS id
                        UNION ALL SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id) SELECT id FROM tree)
ORDER BY p.published_at DESC, p.id DESC LIMIT 25;

\echo '== price range, cheapest first'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON)
SELECT p.id FROM products p
WHERE p.status = 'published' AND p.price_minor >= 50000 AND p.price_minor <= 60000
ORDER BY p.price_minor ASC, p.id ASC LIMIT 25;

\echo '== radius: 25 km around Cape Town'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON)
SELECT p.id FROM products p
WHERE p.status = 'published'
  AND point(p.longitude, p.latitude) <@ box(point(18.15, -34.15), point(18.69, -33.70))
  AND 12742.0176 * asin(sqrt(power(sin(radians(p.latitude - -33.92) / 2), 2)
      + cos(radians(-33.92)) * cos(radians(p.latitude)) * power(sin(radians(p.longitude - 18.42) / 2), 2))) <= 25
ORDER BY p.published_at DESC, p.id DESC LIMIT 25;

\echo '== feed: newest products of the 1,000 sellers benchreader follows (the ids are bound as one array, as the service sends them)'
SELECT array_agg(followee_id)::text AS followed FROM follows
WHERE follower_id = (SELECT id FROM accounts WHERE username = 'benchreader') \gset
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON)
SELECT p.id FROM products p
WHERE p.status = 'published' AND p.seller_id = ANY(:'followed'::uuid[])
ORDER BY p.published_at DESC, p.id DESC LIMIT 25;
