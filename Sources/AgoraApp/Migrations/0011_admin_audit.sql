-- Every admin action, written in the same transaction as the change it records: who, what, to what, why, and the
-- state before and after (JSON objects of scalars). Rows are never updated or deleted by the application.
CREATE TABLE admin_audit (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    actor_id     uuid NOT NULL REFERENCES accounts (id),
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    reason       text,
    before       jsonb NOT NULL DEFAULT '{}',
    after        jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The list is newest first, filtered by any of actor, action and target; each index serves one filter with the order.
CREATE INDEX admin_audit_time ON admin_audit (created_at DESC, id DESC);
CREATE INDEX admin_audit_actor ON admin_audit (actor_id, created_at DESC, id DESC);
CREATE INDEX admin_audit_target ON admin_audit (target_type, target_id, created_at DESC, id DESC);
