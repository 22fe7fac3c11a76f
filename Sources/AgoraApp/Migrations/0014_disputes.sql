-- Disputes: a buyer's claim about a seller order that was shipped or delivered (a parcel that never came, goods not
-- as described), answered by the seller, escalated by the buyer, decided by an administrator. One per seller order.
CREATE TABLE disputes (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seller_order_id  uuid NOT NULL UNIQUE REFERENCES seller_orders (id) ON DELETE CASCADE,
    buyer_id         uuid NOT NULL REFERENCES accounts (id),
    seller_id        uuid NOT NULL REFERENCES accounts (id),
    reason           text NOT NULL CHECK (reason IN ('not_received', 'not_as_described', 'damaged', 'other')),
    -- open → seller_replied → escalated → resolved; the seller may accept (a full refund) and an administrator
    -- decide at any step before resolved.
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'seller_replied', 'escalated', 'resolved')),
    outcome          text CHECK (outcome IN ('refunded', 'closed')),
    refund_id        uuid REFERENCES refunds (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    resolved_at      timestamptz,
    CHECK ((status = 'resolved') = (outcome IS NOT NULL AND resolved_at IS NOT NULL))
);
CREATE INDEX disputes_buyer ON disputes (buyer_id, created_at DESC);
CREATE INDEX disputes_seller ON disputes (seller_id, created_at DESC);
CREATE INDEX disputes_queue ON disputes (status, created_at, id);

-- What each side said, with an optional photo (an image stored like product images).
CREATE TABLE dispute_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dispute_id   uuid NOT NULL REFERENCES disputes (id) ON DELETE CASCADE,
    author_id    uuid REFERENCES accounts (id),
    author_kind  text NOT NULL CHECK (author_kind IN ('buyer', 'seller', 'admin')),
    body         text NOT NULL DEFAULT '' CHECK (length(body) <= 2000),
    photo_url    text CHECK (length(photo_url) <= 300),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (body <> '' OR photo_url IS NOT NULL)
);
CREATE INDEX dispute_messages_dispute ON dispute_messages (dispute_id, id);

ALTER TABLE refunds DROP CONSTRAINT refunds_reason_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_check
    CHECK (reason IN ('buyer_cancel', 'late_payment', 'seller_cancel', 'seller_refund', 'admin_refund', 'dispute'));

-- While a dispute is open, the seller order's earnings are held: a delivered order's available credit moves back
-- to pending (`hold` / `hold_credit`) and comes back when the dispute ends (`unhold` / `unhold_credit`); a shipped
-- order's delivery does not release them until then.
ALTER TABLE seller_ledger DROP CONSTRAINT seller_ledger_entry_check;
ALTER TABLE seller_ledger ADD CONSTRAINT seller_ledger_entry_check
    CHECK (entry IN ('earning', 'release', 'release_credit', 'reversal', 'partial_reversal', 'refund', 'hold', 'hold_credit', 'unhold',
                     'unhold_credit', 'payout', 'payout_failed'));

-- Each entry once per seller order and bucket: a cancel reverses what each bucket holds for it (a disputed delivered
-- order holds its credit in pending), with one `reversal` per bucket.
DROP INDEX seller_ledger_once_per_order;
CREATE UNIQUE INDEX seller_ledger_once_per_order ON seller_ledger (seller_order_id, entry, bucket)
    WHERE seller_order_id IS NOT NULL AND refund_id IS NULL;
