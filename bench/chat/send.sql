-- One chat message: the statement of ChatService.sendStatement (Sources/Chat/ChatService+Statements.swift), text for
-- text, for pgbench -M prepared. RealtimeTests/ChatSendScriptTests checks that the statement (everything after the last
-- backslash line) and the Swift statement agree.
--
-- Each `:name` in the statement is one bind, in the order of the Swift interpolations, as PGQuery numbers them:
--   :conv::uuid, :sender::uuid  the server binds UUIDs typed as uuid; the cast gives pgbench's untyped parameter that type
--   :kind, :body                the server sends strings untyped (OID 0), so these carry no cast either
--   :null_client_id, :null_product_id  never defined: pgbench binds an undefined variable of a prepared statement as
--                               NULL, its only way to send NULL (\set x NULL goes out as the text 'NULL'); the realtime
--                               bench sends no clientId and a text message has no product
-- :kind and :pairs come from scripts/bench-chat-sql.sh (-D kind=text -D pairs=N -D first=1).
--
-- One spelling differs from the Swift text: the literal 'chat:message' is written E'chat\x3Amessage', the same
-- constant to the server. pgbench replaces every ":name" with a placeholder, inside quotes too, and would send 'chat$n'.
--
-- pgbench variables hold numbers, so it cannot choose a UUID itself: a connection looks up a random conversation and a
-- random one of its members on its first message and again on about one message in 20 (the lookup is a separate
-- statement; the message is the same one statement every time, prepared once per connection as the server does).
\set body random(1000000000000000000, 1999999999999999999)
\set pick random(1, 20)
\if :first = 1 or :pick = 1
\set offset random(0, :pairs - 1)
SELECT id AS conv, CASE WHEN random() < 0.5 THEN user_a ELSE user_b END AS sender FROM conversations ORDER BY id LIMIT 1 OFFSET :offset \gset
\set first 0
\endif
WITH conv AS (
    SELECT id, CASE WHEN user_a = :sender::uuid THEN user_b ELSE user_a END AS other FROM conversations
    WHERE id = :conv::uuid AND (user_a = :sender::uuid OR user_b = :sender::uuid)
    FOR UPDATE
), gate AS (
    SELECT id, other, block_between(:sender::uuid, other) AS block FROM conv
), msg AS (
    INSERT INTO messages (conversation_id, sender_id, client_id, kind, body, product_id)
    SELECT id, :sender::uuid, :null_client_id, :kind, :body, :null_product_id FROM gate WHERE block IS NULL
    ON CONFLICT DO NOTHING
    RETURNING *
), touched AS (
    UPDATE conversations c SET last_message_id = msg.id, last_activity = now() FROM msg WHERE c.id = msg.conversation_id
), counted AS (
    UPDATE conversation_members m SET last_activity = now(),
        unread = CASE WHEN m.user_id = :sender::uuid THEN m.unread ELSE m.unread + 1 END,
        last_read_id = CASE WHEN m.user_id = :sender::uuid THEN msg.id ELSE m.last_read_id END
    FROM msg WHERE m.conversation_id = msg.conversation_id
), heads AS (
    INSERT INTO user_streams (user_id, last_seq)
    SELECT u, 1 FROM msg, gate, unnest(ARRAY[:sender::uuid, gate.other]) AS u ORDER BY u
    ON CONFLICT (user_id) DO UPDATE SET last_seq = user_streams.last_seq + 1
    RETURNING user_id, last_seq
), events AS (
    INSERT INTO user_events (user_id, seq, type, message_id)
    SELECT heads.user_id, heads.last_seq, E'chat\x3Amessage', msg.id FROM heads, msg
)
SELECT gate.other, gate.block, msg.id, msg.created_at, chat_message_event(ROW(msg.*)::messages)::text AS data,
    (SELECT last_seq FROM heads WHERE user_id = :sender::uuid) AS sender_seq,
    (SELECT last_seq FROM heads WHERE user_id = gate.other) AS recipient_seq
FROM gate LEFT JOIN msg ON true;
