-- Refunds Agora asks a provider for. The row is written in the transaction of the state change it pays for
-- (a buyer's cancel, a late payment whose stock was gone) and committed before the provider is called, so no row
-- lock is ever held across a network call; the provider is then called outside any transaction and the outcome
-- recorded in a second one. A row still pending (a failed call, a crash in between) is retried by the sweeper
-- with the same idempotency key, so the provider refunds it once.
CREATE TABLE refunds (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id            uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- The seller orders the money comes from (empty for a late payment, which no seller order kept).
    seller_order_ids    uuid[] NOT NULL DEFAULT '{}',
    provider            text NOT NULL,
    idempotency_key     text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    reason              text NOT NULL CHECK (reason IN ('buyer_cancel', 'late_payment')),
    amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_refund_id  text,
    provider_status     text,
    -- Calls made so far; the next one is due at next_attempt_at (pushed forward while a call is in flight).
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz
);
CREATE INDEX refunds_order ON refunds (order_id, created_at);
-- The sweeper's queue.
CREATE INDEX refunds_due ON refunds (next_attempt_at) WHERE status = 'pending';

-- The platform fee rate an order was priced with, so a partial refund computes the seller's share of what is kept
-- with the rate of the sale rather than today's (NULL for orders placed before this column: today's rate then).
ALTER TABLE orders ADD COLUMN platform_fee_bp integer CHECK (platform_fee_bp BETWEEN 0 AND 10000);

-- A buyer's cancel of a seller order that holds delivered digital items refunds only the rest: the earnings of
-- the refunded part are taken back with an entry of their own, so a later full reversal (a refund made at the
-- provider) can still add its own `reversal` entry.
ALTER TABLE seller_ledger DROP CONSTRAINT seller_ledger_entry_check;
ALTER TABLE seller_ledger ADD CONSTRAINT seller_ledger_entry_check
    CHECK (entry IN ('earning', 'release', 'release_credit', 'reversal', 'partial_reversal', 'payout', 'payout_failed'));
