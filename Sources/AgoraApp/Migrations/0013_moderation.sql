-- Moderation: suspended accounts, listings taken down, and the reports that lead to both.

-- A suspended account cannot log in or refresh; its sessions were ended when it was suspended.
ALTER TABLE accounts ADD COLUMN suspended_at timestamptz;
ALTER TABLE accounts ADD COLUMN suspension_reason text CHECK (length(suspension_reason) <= 500);
CREATE INDEX accounts_suspended ON accounts (suspended_at) WHERE suspended_at IS NOT NULL;

-- A listing taken down is hidden like any product that is not published; its seller sees it with the reason.
-- `hidden_by` says who hid it (an administrator's takedown, or its seller's suspension) and `status_before_takedown`
-- what a restore (or the end of the suspension) puts back.
ALTER TABLE products DROP CONSTRAINT products_status_check;
ALTER TABLE products ADD CONSTRAINT products_status_check
    CHECK (status IN ('draft', 'published', 'unpublished', 'archived', 'taken_down'));
ALTER TABLE products ADD COLUMN takedown_reason text CHECK (length(takedown_reason) <= 500);
ALTER TABLE products ADD COLUMN taken_down_at timestamptz;
ALTER TABLE products ADD COLUMN hidden_by text CHECK (hidden_by IN ('admin', 'suspension'));
ALTER TABLE products ADD COLUMN status_before_takedown text
    CHECK (status_before_takedown IN ('draft', 'published', 'unpublished'));
ALTER TABLE products ADD CONSTRAINT products_takedown_state
    CHECK ((status = 'taken_down') = (hidden_by IS NOT NULL AND status_before_takedown IS NOT NULL));

-- What users report: a listing, a user or a chat message (its numeric id as text), with the account a resolution
-- would act on (`subject_id`: the seller, the user, the message's author) and, for a message, its text as it was
-- reported (`evidence`). One open report per reporter and target.
CREATE TABLE reports (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    reporter_id      uuid NOT NULL REFERENCES accounts (id),
    target_type      text NOT NULL CHECK (target_type IN ('product', 'user', 'message')),
    target_id        text NOT NULL CHECK (length(target_id) BETWEEN 1 AND 64),
    subject_id       uuid NOT NULL REFERENCES accounts (id),
    reason           text NOT NULL CHECK (reason IN ('spam', 'scam', 'counterfeit', 'prohibited', 'harassment', 'other')),
    body             text NOT NULL DEFAULT '' CHECK (length(body) <= 2000),
    evidence         text CHECK (length(evidence) <= 10000),
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution       text CHECK (resolution IN ('dismissed', 'taken_down', 'warned', 'suspended')),
    resolution_note  text CHECK (length(resolution_note) <= 500),
    resolved_by      uuid REFERENCES accounts (id),
    resolved_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'resolved') = (resolution IS NOT NULL AND resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX reports_once_open ON reports (reporter_id, target_type, target_id) WHERE status = 'open';
-- The queue, oldest first, and everything about one target.
CREATE INDEX reports_queue ON reports (status, created_at, id);
CREATE INDEX reports_target ON reports (target_type, target_id);
