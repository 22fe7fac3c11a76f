-- Refunds of a seller order by its seller (a cancel before shipping, or a partial refund) and by an administrator
-- (full or partial, on any paid seller order). Each is a `refunds` row like a buyer's cancel: recorded with the
-- change that owes it, asked of the provider after the commit.
ALTER TABLE refunds DROP CONSTRAINT refunds_reason_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_check
    CHECK (reason IN ('buyer_cancel', 'late_payment', 'seller_cancel', 'seller_refund', 'admin_refund'));
-- Who asked for it (NULL for the system), and the words the buyer is shown.
ALTER TABLE refunds ADD COLUMN requested_by uuid REFERENCES accounts (id);
ALTER TABLE refunds ADD COLUMN note text CHECK (length(note) <= 500);

-- What went back to the buyer never exceeds what they paid, per seller order: the last line of defence behind the
-- row lock every refund takes on its seller order.
ALTER TABLE seller_orders ADD CONSTRAINT seller_orders_refunded_within_total CHECK (refunded_minor BETWEEN 0 AND total_minor);

-- A partial refund takes the seller's share of it back with entries of its own (one per bucket it draws on), so a
-- seller order may have many; every other entry stays once per seller order.
ALTER TABLE seller_ledger ADD COLUMN refund_id uuid REFERENCES refunds (id);
ALTER TABLE seller_ledger DROP CONSTRAINT seller_ledger_entry_check;
ALTER TABLE seller_ledger ADD CONSTRAINT seller_ledger_entry_check
    CHECK (entry IN ('earning', 'release', 'release_credit', 'reversal', 'partial_reversal', 'refund', 'payout', 'payout_failed'));
ALTER TABLE seller_ledger ADD CONSTRAINT seller_ledger_refund_entry CHECK ((entry = 'refund') = (refund_id IS NOT NULL));
DROP INDEX seller_ledger_once_per_order;
CREATE UNIQUE INDEX seller_ledger_once_per_order ON seller_ledger (seller_order_id, entry) WHERE seller_order_id IS NOT NULL AND refund_id IS NULL;
CREATE UNIQUE INDEX seller_ledger_once_per_refund ON seller_ledger (refund_id, seller_order_id, bucket) WHERE refund_id IS NOT NULL;

-- The back office lists every order newest first, or those of one status (by buyer: orders_buyer).
CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC);
