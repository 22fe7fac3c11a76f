import AgoraPostgres
import Foundation

/// The one-statement writes of chat: a message and a read receipt, each membership, block check, counters and both
/// stream events in a single round trip.
extension ChatService {
    /// The send statement. Locks the conversation row first (the lock that orders its messages), then the stream
    /// heads in user-id order, as `UserStream.append` does, so it cannot deadlock with other appends.
    static func sendStatement(conversation: UUID, sender: UUID, clientId: String?, kind: String, text: String, productId: UUID?) -> PGQuery {
        """
        WITH conv AS (
            SELECT id, CASE WHEN user_a = \(sender) THEN user_b ELSE user_a END AS other FROM conversations
            WHERE id = \(conversation) AND (user_a = \(sender) OR user_b = \(sender))
            FOR UPDATE
        ), gate AS (
            SELECT id, other, block_between(\(sender), other) AS block FROM conv
        ), msg AS (
            INSERT INTO messages (conversation_id, sender_id, client_id, kind, body, product_id)
            SELECT id, \(sender), \(clientId), \(kind), \(text), \(productId) FROM gate WHERE block IS NULL
            ON CONFLICT DO NOTHING
            RETURNING *
        ), touched AS (
            UPDATE conversations c SET last_message_id = msg.id, last_activity = now() FROM msg WHERE c.id = msg.conversation_id
        ), counted AS (
            UPDATE conversation_members m SET last_activity = now(),
                unread = CASE WHEN m.user_id = \(sender) THEN m.unread ELSE m.unread + 1 END,
                last_read_id = CASE WHEN m.user_id = \(sender) THEN msg.id ELSE m.last_read_id END
            FROM msg WHERE m.conversation_id = msg.conversation_id
        ), heads AS (
            INSERT INTO user_streams (user_id, last_seq)
            SELECT u, 1 FROM msg, gate, unnest(ARRAY[\(sender), gate.other]) AS u ORDER BY u
            ON CONFLICT (user_id) DO UPDATE SET last_seq = user_streams.last_seq + 1
            RETURNING user_id, last_seq
        ), events AS (
            INSERT INTO user_events (user_id, seq, type, message_id)
            SELECT heads.user_id, heads.last_seq, 'chat:message', msg.id FROM heads, msg
        )
        SELECT gate.other, gate.block, msg.id, msg.created_at, chat_message_event(ROW(msg.*)::messages)::text AS data,
            (SELECT last_seq FROM heads WHERE user_id = \(sender)) AS sender_seq,
            (SELECT last_seq FROM heads WHERE user_id = gate.other) AS recipient_seq
        FROM gate LEFT JOIN msg ON true
        """
    }

    /// The read statement. Never reads past the conversation's last message (a receipt for a message not yet sent
    /// would read it early), never moves backwards; stream heads are locked in user-id order, as everywhere.
    static func readStatement(conversation: UUID, user: UUID, upTo messageId: Int64?) -> PGQuery {
        """
        WITH gate AS (
            SELECT other, block_between(\(user), other) AS block FROM (
                SELECT CASE WHEN user_a = \(user) THEN user_b ELSE user_a END AS other FROM conversations
                WHERE id = \(conversation) AND (user_a = \(user) OR user_b = \(user))
            ) c
        ), latest AS (
            SELECT coalesce(max(id), 0) AS id FROM messages WHERE conversation_id = \(conversation)
        ), target AS (
            SELECT least(coalesce(\(messageId), (SELECT id FROM latest)), (SELECT id FROM latest)) AS upto
        ), marked AS (
            UPDATE conversation_members m SET last_read_id = greatest(m.last_read_id, (SELECT upto FROM target)),
                unread = (SELECT count(*) FROM messages WHERE conversation_id = \(conversation) AND sender_id <> \(user)
                          AND id > greatest(m.last_read_id, (SELECT upto FROM target)))
            FROM gate WHERE gate.block IS NULL AND m.conversation_id = \(conversation) AND m.user_id = \(user)
            RETURNING m.last_read_id, m.unread
        ), data AS (
            SELECT marked.*, jsonb_build_object(
                'conversationId', upper(\(conversation)::text), 'userId', upper(\(user)::text), 'messageId', marked.last_read_id
            ) AS shared FROM marked
        ), heads AS (
            INSERT INTO user_streams (user_id, last_seq)
            SELECT u, 1 FROM data, gate, unnest(ARRAY[\(user), gate.other]) AS u ORDER BY u
            ON CONFLICT (user_id) DO UPDATE SET last_seq = user_streams.last_seq + 1
            RETURNING user_id, last_seq
        ), events AS (
            INSERT INTO user_events (user_id, seq, type, data)
            SELECT heads.user_id, heads.last_seq, 'chat:read',
                CASE WHEN heads.user_id = \(user) THEN data.shared || jsonb_build_object('unread', data.unread) ELSE data.shared END
            FROM heads, data
        )
        SELECT gate.other, gate.block, data.last_read_id, data.unread, data.shared::text AS shared,
            (data.shared || jsonb_build_object('unread', data.unread))::text AS own,
            (SELECT last_seq FROM heads WHERE user_id = \(user)) AS own_seq,
            (SELECT last_seq FROM heads WHERE user_id = gate.other) AS other_seq
        FROM gate LEFT JOIN data ON true
        """
    }
}
