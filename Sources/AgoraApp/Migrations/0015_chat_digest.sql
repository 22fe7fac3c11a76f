-- The unread-chat digest: one mail to a user who has been offline for a while with messages waiting, then none
-- until newer messages wait. `last_message_id` is the newest message a digest counted.
CREATE TABLE chat_digests (
    user_id          uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    last_message_id  bigint NOT NULL,
    sent_at          timestamptz NOT NULL DEFAULT now()
);
-- The digest job's look-up: members with something unread.
CREATE INDEX conversation_members_unread ON conversation_members (user_id) WHERE unread > 0;
