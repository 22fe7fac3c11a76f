-- A large marketplace for scripts/bench-catalog.sh: 10,000 accounts (3,000 of them sellers), 100 categories,
-- 100,000 published products, 300,000 likes, 50,000 follows. Deterministic (setseed), and skipped when it already ran.
\set ON_ERROR_STOP on
DO $$
BEGIN
    PERFORM setseed(0.42);
    IF (SELECT count(*) FROM products) >= 100000 THEN
        RAISE NOTICE 'already seeded';
        RETURN;
    END IF;

    INSERT INTO accounts (email, username, display_name, password_hash, role, email_verified_at)
    SELECT 'user' || i || '@bench.local', 'user' || i, 'User ' || i, 'not-a-login', CASE WHEN i <= 3000 THEN 'seller' ELSE 'buyer' END, now()
    FROM generate_series(1, 10000) AS i;

    INSERT INTO categories (slug, name, position)
    SELECT 'root-' || r, 'Root ' || r, r FROM generate_series(1, 10) AS r;
    INSERT INTO categories (slug, name, parent_id, position)
    SELECT 'cat-' || r || '-' || c, 'Category ' || r || '.' || c, (SELECT id FROM categories WHERE slug = 'root-' || r), c
    FROM generate_series(1, 10) AS r, generate_series(1, 9) AS c;

    -- Titles from word lists, so full-text search has realistic selectivity.
    CREATE TEMP TABLE words (n int, brand text, thing text, adjective text) ON COMMIT DROP;
    INSERT INTO words
    SELECT n,
        (ARRAY['Apple','Samsung','Sony','Yamaha','Fender','Lenovo','Canon','Nikon','Bosch','Makita','Nike','Adidas','Lego','Philips','Dell',
               'Asus','Garmin','Kindle','Weber','Smeg'])[1 + (n % 20)],
        (ARRAY['phone','laptop','camera','guitar','headphones','drill','sneakers','watch','tablet','speaker','kettle','blender','bicycle',
               'jacket','backpack','monitor','keyboard','lens','amplifier','turntable','console','router','printer','toaster','tent'])[1 + (n % 25)],
        (ARRAY['vintage','refurbished','compact','wireless','portable','classic','premium','rugged','lightweight','professional'])[1 + (n % 10)]
    FROM generate_series(0, 999) AS n;

    INSERT INTO products (seller_id, category_id, title, description, price_minor, currency, condition, tags, stock, type,
                          latitude, longitude, status, like_count, view_count, published_at, created_at)
    SELECT s.id, c.id,
        initcap(w.adjective) || ' ' || w.brand || ' ' || w.thing || ' ' || (i % 997),
        'A ' || w.adjective || ' ' || w.thing || ' by ' || w.brand || ', lot ' || i || '. Ships within two days; collection possible.',
        (100 + (random() * 2000000)::int), 'ZAR',
        (ARRAY['new','like-new','good','fair'])[1 + (i % 4)],
        ARRAY[lower(w.brand), w.thing],
        (i % 7), CASE WHEN i % 20 = 0 THEN 'key' ELSE 'physical' END,
        CASE WHEN i % 2 = 0 THEN -34 + random() * 12 END, CASE WHEN i % 2 = 0 THEN 17 + random() * 14 END,
        'published', 0, (random() * 1000)::int,
        now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval
    FROM generate_series(1, 100000) AS i
    JOIN words w ON w.n = i % 1000
    JOIN LATERAL (SELECT id FROM accounts WHERE username = 'user' || (1 + (i * 7919) % 3000)) s ON true
    JOIN LATERAL (SELECT id FROM categories WHERE slug = 'cat-' || (1 + i % 10) || '-' || (1 + (i / 10) % 9)) c ON true;

    -- Numbered copies, so likes and follows are spread by arithmetic rather than by OFFSET scans.
    CREATE TEMP TABLE pn ON COMMIT DROP AS SELECT id, row_number() OVER (ORDER BY id) AS n FROM products;
    CREATE INDEX ON pn (n);
    CREATE TEMP TABLE an ON COMMIT DROP AS SELECT id, role, row_number() OVER (PARTITION BY role ORDER BY id) AS n FROM accounts;
    CREATE INDEX ON an (role, n);
    -- 30 likes per account, skewed: low-numbered products are liked far more often.
    INSERT INTO product_likes (account_id, product_id)
    SELECT a.id, p.id FROM an a CROSS JOIN generate_series(1, 30) AS k
    JOIN pn p ON p.n = 1 + ((a.n * 7 + k * k * 131) % (CASE WHEN k <= 10 THEN 500 ELSE 100000 END))
    ON CONFLICT DO NOTHING;
    UPDATE products p SET like_count = l.n FROM (SELECT product_id, count(*) AS n FROM product_likes GROUP BY product_id) l WHERE p.id = l.product_id;

    -- Every buyer follows 5 or 6 sellers.
    INSERT INTO follows (follower_id, followee_id)
    SELECT a.id, s.id FROM an a CROSS JOIN generate_series(1, 6) AS k
    JOIN an s ON s.role = 'seller' AND s.n = 1 + ((a.n * 13 + k * 167) % 3000)
    WHERE a.role = 'buyer'
    ON CONFLICT DO NOTHING;
    INSERT INTO follow_counts (account_id, followers, following)
    SELECT id, (SELECT count(*) FROM follows WHERE followee_id = a.id), (SELECT count(*) FROM follows WHERE follower_id = a.id) FROM accounts a;
END
$$;
ANALYZE accounts; ANALYZE categories; ANALYZE products; ANALYZE product_likes; ANALYZE follows; ANALYZE catalog_words;
