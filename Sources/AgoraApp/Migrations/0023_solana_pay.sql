-- Solana Pay (issue 24): each seller order of an order paid this way is its own transfer request to its seller's
-- wallet, with a fresh reference key; a background job finds the transaction by that reference and checks it.

-- The wallet a shop is paid in, and the token it accepts: 'SOL' or an SPL token's mint (both base58).
CREATE TABLE shop_wallets (
    seller_id   uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    address     text NOT NULL CHECK (address ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    token       text NOT NULL CHECK (token = 'SOL' OR token ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One transfer request per seller order: what was asked (recipient, token, amount in its smallest unit), the rate
-- the amount came from as the buyer was shown it, and where the payment stands.
--   pending     waiting for a transfer;
--   confirming  a transfer that pays it is `confirmed` (signature); fulfilled once `finalized`, back to pending if
--               the cluster drops it;
--   paid        fulfilled by `signature`;
--   expired     the reservation ended unpaid; still watched until `watch_until`, so a late transfer is recorded.
CREATE TABLE solana_payments (
    seller_order_id  uuid PRIMARY KEY REFERENCES seller_orders (id) ON DELETE CASCADE,
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    recipient        text NOT NULL,
    token            text NOT NULL,
    symbol           text NOT NULL,
    decimals         smallint NOT NULL CHECK (decimals BETWEEN 0 AND 18),
    amount_atomic    bigint NOT NULL CHECK (amount_atomic > 0),
    reference        text NOT NULL UNIQUE,
    url              text NOT NULL,
    rate             text NOT NULL,
    rate_source      text NOT NULL,
    rate_at          timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirming', 'paid', 'expired')),
    signature        text,
    confirmed_at     timestamptz,
    paid_at          timestamptz,
    next_check_at    timestamptz NOT NULL DEFAULT now(),
    watch_until      timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status IN ('confirming', 'paid')) = (signature IS NOT NULL))
);
CREATE INDEX solana_payments_order ON solana_payments (order_id);
-- The confirmation job's queue.
CREATE INDEX solana_payments_due ON solana_payments (next_check_at) WHERE status <> 'paid';

-- Every transaction found for a reference that was judged: the one that paid, and each refused one (wrong amount,
-- token or recipient, no reference, failed on chain, or late), so none is judged twice and a person can follow up.
CREATE TABLE solana_transfers (
    signature        text NOT NULL CHECK (length(signature) BETWEEN 1 AND 100),
    seller_order_id  uuid NOT NULL REFERENCES seller_orders (id) ON DELETE CASCADE,
    outcome          text NOT NULL CHECK (outcome IN ('paid', 'refused', 'late')),
    reason           text,
    received_amount  bigint,
    received_token   text,
    slot             bigint,
    seen_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (signature, seller_order_id)
);
CREATE INDEX solana_transfers_seller_order ON solana_transfers (seller_order_id);
