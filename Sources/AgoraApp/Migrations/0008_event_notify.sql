-- Domain events wake the notification relays at once: one NOTIFY per inserting statement, delivered by PostgreSQL
-- when the transaction commits (never for one that rolls back). The payload is the schema of the table, so instances
-- of different schemas (tests) sharing a database wake only their own relays. The relays' poll stays as the safety net.
CREATE FUNCTION notify_domain_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agora_domain_events', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$;

CREATE TRIGGER domain_events_notify AFTER INSERT ON domain_events
    FOR EACH STATEMENT EXECUTE FUNCTION notify_domain_events();
