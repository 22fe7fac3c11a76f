-- Retention of user_events, two ways, on the same data (psql -v users=… -v days=… -v per_day=…):
--   A. batched deletes, the statement StreamPruner runs (by age, LIMIT batch, through the created_at index);
--   B. a table partitioned by day, where a day's events go with DROP TABLE of its partition.
-- Prints the table's bytes per event (heap, TOAST and indexes), and the time each way takes to remove the oldest day.
\set ON_ERROR_STOP on
\timing off
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_events, bench_events_parted CASCADE;

-- The real table's shape (migrations 0006, 0009, 0020): chat entries reference their message (data NULL), the
-- others carry their JSON (a notice or an order status, about 250 bytes).
CREATE TABLE bench_events (
    user_id uuid NOT NULL, seq bigint NOT NULL, type text NOT NULL, data jsonb, message_id bigint,
    created_at timestamptz NOT NULL, PRIMARY KEY (user_id, seq)
);
CREATE INDEX bench_events_created ON bench_events (created_at);

INSERT INTO bench_events
SELECT u.id, n.seq,
       CASE WHEN n.seq % 5 < 3 THEN 'chat:message' ELSE 'notification:new' END,
       CASE WHEN n.seq % 5 < 3 THEN NULL
            ELSE jsonb_build_object('unread', n.seq % 40, 'notification', jsonb_build_object('id', n.seq, 'kind', 'order', 'read', false,
                 'createdAt', '2026-12-07T04:00:00Z', 'data', jsonb_build_object('orderId', gen_random_uuid(), 'status', 'paid',
                 'total', 25000, 'currency', 'ZAR', 'buyerId', gen_random_uuid(), 'sellerId', u.id))) END,
       CASE WHEN n.seq % 5 < 3 THEN n.seq ELSE NULL END,
       now() - make_interval(days => :days) + (n.seq - 1) * make_interval(days => :days) / (:days * :per_day)
FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, :users)) u
CROSS JOIN generate_series(1, :days * :per_day) AS n(seq);
ANALYZE bench_events;

SELECT count(*) AS events, pg_size_pretty(pg_total_relation_size('bench_events')) AS total_size,
       round(pg_total_relation_size('bench_events')::numeric / count(*), 1) AS bytes_per_event,
       round(pg_total_relation_size('bench_events')::numeric / count(*) * :per_day / 1024, 1) AS kib_per_active_user_per_day
FROM bench_events \gset
\echo events :events, table with indexes :total_size, :bytes_per_event bytes per event: :kib_per_active_user_per_day KiB per active user per day at :per_day events a day

-- B's copy, partitioned by day.
CREATE TABLE bench_events_parted (LIKE bench_events) PARTITION BY RANGE (created_at);
SELECT format('CREATE TABLE bench_events_p%s PARTITION OF bench_events_parted FOR VALUES FROM (%L) TO (%L)', d,
              date_trunc('day', now()) - make_interval(days => :days - d + 1), date_trunc('day', now()) - make_interval(days => :days - d))
FROM generate_series(0, :days + 1) d \gexec
ALTER TABLE bench_events_parted ADD PRIMARY KEY (user_id, seq, created_at);
INSERT INTO bench_events_parted SELECT * FROM bench_events;
ANALYZE bench_events_parted;
SELECT count(*) AS oldest_day_events FROM bench_events WHERE created_at < date_trunc('day', now()) - make_interval(days => :days - 1) \gset
\echo the oldest day holds :oldest_day_events events

-- A: batches of 5,000 by age, each its own transaction, as the pruner does.
SELECT clock_timestamp() AS a_started \gset
DO $$
DECLARE deleted int;
BEGIN
  LOOP
    WITH doomed AS (
      SELECT user_id, seq FROM bench_events WHERE created_at < date_trunc('day', now()) - make_interval(days => current_setting('bench.days')::int - 1)
      ORDER BY created_at LIMIT 5000
    ) DELETE FROM bench_events e USING doomed d WHERE e.user_id = d.user_id AND e.seq = d.seq;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    COMMIT;
    EXIT WHEN deleted < 5000;
  END LOOP;
END $$;
SELECT round(extract(epoch FROM clock_timestamp() - :'a_started'::timestamptz) * 1000) AS a_ms \gset
\echo A batched deletes: :a_ms ms for the oldest day, its space reused after VACUUM, the table not shrunk

-- B: the oldest day's partition dropped.
SELECT clock_timestamp() AS b_started \gset
SELECT format('DROP TABLE %I', c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'bench_events_parted'::regclass ORDER BY c.relname LIMIT 1 \gexec
SELECT round(extract(epoch FROM clock_timestamp() - :'b_started'::timestamptz) * 1000, 1) AS b_ms \gset
\echo B partition dropped: :b_ms ms

DROP TABLE bench_events, bench_events_parted CASCADE;
