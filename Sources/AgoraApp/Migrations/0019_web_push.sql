-- Web Push (issue 23, part 1). A device's subscription, tied to the session that made it (whatever ends the session
-- ends its pushes), and the pushes waiting to be sent, written with the notices that cause them.
CREATE TABLE push_subscriptions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    session_id       text NOT NULL,
    endpoint         text NOT NULL UNIQUE,
    p256dh           text NOT NULL,
    auth             text NOT NULL,
    user_agent       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_success_at  timestamptz
);
CREATE INDEX push_subscriptions_account ON push_subscriptions (account_id, created_at);

CREATE TABLE push_outbox (
    id               bigserial PRIMARY KEY,
    subscription_id  uuid NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    account_id       uuid NOT NULL,
    kind             text NOT NULL,
    data             jsonb NOT NULL,
    -- Pushes with the same topic to the same device replace each other (and the push service's queue collapses them).
    topic            text,
    urgency          text NOT NULL CHECK (urgency IN ('very-low', 'low', 'normal', 'high')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_outbox_due ON push_outbox (next_attempt_at, id);
CREATE INDEX push_outbox_topic ON push_outbox (subscription_id, topic) WHERE topic IS NOT NULL;

-- Queued pushes wake the dispatchers at once, as domain events wake the relays (0008): one NOTIFY per statement that
-- queued any, delivered at the commit, the schema as payload. The dispatchers' poll stays as the safety net.
CREATE FUNCTION notify_push_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM queued) THEN
        PERFORM pg_notify('agora_push', TG_TABLE_SCHEMA);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER push_outbox_notify AFTER INSERT ON push_outbox
    REFERENCING NEW TABLE AS queued FOR EACH STATEMENT EXECUTE FUNCTION notify_push_outbox();
