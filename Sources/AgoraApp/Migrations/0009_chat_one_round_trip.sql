-- A chat message is stored once. Its two stream events (the sender's and the recipient's chat:message) reference it
-- instead of copying it; resume renders the event from the message with chat_message_event, the same function the
-- send statement uses for the live event, so what a reconnecting client gets is what a connected one got.
ALTER TABLE user_events ADD COLUMN message_id bigint;
ALTER TABLE user_events ALTER COLUMN data DROP NOT NULL;
ALTER TABLE user_events ADD CONSTRAINT user_events_data_or_message CHECK (data IS NOT NULL OR message_id IS NOT NULL);

-- Chat's: a message as the data of its chat:message event, in the shape the Swift encoder gives it (upper-case
-- UUIDs, ISO 8601 seconds in UTC, absent optionals).
CREATE FUNCTION chat_message_event(m messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'conversationId', upper(m.conversation_id::text),
        'message', jsonb_strip_nulls(jsonb_build_object(
            'id', m.id, 'conversationId', upper(m.conversation_id::text), 'senderId', upper(m.sender_id::text),
            'kind', m.kind, 'text', m.body, 'productId', upper(m.product_id::text), 'clientId', m.client_id,
            'createdAt', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        ))
    )
$$;

-- Social's: whether a block stands between a and b, for statements of other domains that must honour it in the
-- same round trip as their write ('blocked' when b blocks a, 'blocking' when a blocks b, NULL for none). Other
-- domains call this function, never the blocks table.
CREATE FUNCTION block_between(a uuid, b uuid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM blocks WHERE blocker_id = b AND blocked_id = a) THEN 'blocked'
        WHEN EXISTS (SELECT 1 FROM blocks WHERE blocker_id = a AND blocked_id = b) THEN 'blocking'
    END
$$;
