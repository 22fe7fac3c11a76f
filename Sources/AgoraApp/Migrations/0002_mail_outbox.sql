-- The email outbox: a mail is a row written in the same transaction as the change that causes it, and the
-- dispatcher (AgoraMail.MailDispatcher, one per instance) sends what is due. Rows are kept after sending, as a record.

CREATE TABLE mail_outbox (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    to_address      text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
    subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 250),
    body            text NOT NULL,
    -- pending -> sent, or pending -> failed after a permanent refusal or too many attempts.
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    -- When a pending mail may next be tried. Claiming a mail moves this forward by a lease, so a dispatcher that
    -- dies mid-send only delays the mail: another instance picks it up when the lease runs out.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';
