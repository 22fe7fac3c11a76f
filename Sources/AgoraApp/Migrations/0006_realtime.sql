-- Realtime: every user's durable event stream, chat, notifications.

-- The durable stream. Each user's events are numbered 1, 2, 3, ... with no gap: the number comes from
-- user_streams.last_seq, bumped in the transaction that writes the event, so a user's events commit in sequence
-- order (the row lock queues concurrent writers) and a reader that has seen N can fetch exactly what follows.
CREATE TABLE user_streams (
    user_id   uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    last_seq  bigint NOT NULL DEFAULT 0
);

CREATE TABLE user_events (
    user_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    type        text NOT NULL,
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, seq)
);

-- Domain events (catalog, commerce) are turned into notifications and stream events by one relay at a time.
ALTER TABLE domain_events ADD COLUMN relayed_at timestamptz;
CREATE INDEX domain_events_unrelayed ON domain_events (id) WHERE relayed_at IS NULL;

-- Chat: a conversation between two accounts (user_a < user_b), optionally about a product.
CREATE TABLE conversations (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_a           uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_b           uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id       uuid REFERENCES products (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_message_id  bigint,
    last_activity    timestamptz NOT NULL DEFAULT now(),
    CHECK (user_a < user_b),
    UNIQUE NULLS NOT DISTINCT (user_a, user_b, product_id)
);

-- Each participant's view: what they have read and how much they have not.
CREATE TABLE conversation_members (
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    last_read_id     bigint NOT NULL DEFAULT 0,
    unread           integer NOT NULL DEFAULT 0 CHECK (unread >= 0),
    last_activity    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_by_user ON conversation_members (user_id, last_activity DESC, conversation_id);

CREATE TABLE messages (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The sender's own id for the message, so a retry after a lost ack stores it once.
    client_id        text,
    kind             text NOT NULL CHECK (kind IN ('text', 'product')),
    body             text NOT NULL DEFAULT '',
    product_id       uuid REFERENCES products (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender_id, client_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id DESC);

CREATE TABLE blocks (
    blocker_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    blocked_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id)
);

-- Notifications: a row per notice, shown in the bell; each also goes into its user's stream as notification:new.
CREATE TABLE notifications (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}',
    read_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_by_user ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

-- Kinds a user has muted (follower, like, message, order, order_status, low_stock).
CREATE TABLE notification_mutes (
    user_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind     text NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Presence: who hides it, and when each user was last seen online.
CREATE TABLE presence (
    user_id    uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    hidden     boolean NOT NULL DEFAULT false,
    last_seen  timestamptz
);
CREATE INDEX conversations_by_user_b ON conversations (user_b);
