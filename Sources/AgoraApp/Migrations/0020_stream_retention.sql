-- Bounded streams (issue 21, part 3): user_events keeps a retention window (days, and events per user), pruned in
-- batches in the background. pruned_seq is the highest sequence pruned from a user's stream: a client resuming from
-- before it is told `reset` (its views reload) instead of missing events silently.
ALTER TABLE user_streams ADD COLUMN pruned_seq bigint NOT NULL DEFAULT 0;
-- The pruner's look-up by age. (Built once by this migration, which holds user_events' writes while it builds.)
CREATE INDEX user_events_created ON user_events (created_at);
