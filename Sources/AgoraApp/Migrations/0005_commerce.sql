-- Commerce: carts, orders split per seller, reservations, payments, digital inventory, reviews, the seller ledger
-- and payouts. Money is bigint minor units beside an ISO 4217 code, never floating point.

-- A cart is its rows: one per product, kept across logouts (it belongs to the account, not a session).
CREATE TABLE cart_items (
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    added_at    timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, product_id)
);

-- The buyer's order. Totals are the sums of its seller orders (checked by the service and the reconciliation test):
-- total = subtotal + vat + shipping, subtotal net of VAT whichever way prices are entered.
CREATE TABLE orders (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    buyer_id            uuid NOT NULL REFERENCES accounts (id),
    status              text NOT NULL DEFAULT 'pending_payment'
                        CHECK (status IN ('pending_payment', 'paid', 'cancelled', 'refunded')),
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal_minor      bigint NOT NULL CHECK (subtotal_minor >= 0),
    vat_minor           bigint NOT NULL CHECK (vat_minor >= 0),
    shipping_minor      bigint NOT NULL CHECK (shipping_minor >= 0),
    total_minor         bigint NOT NULL CHECK (total_minor >= 0),
    platform_fee_minor  bigint NOT NULL CHECK (platform_fee_minor >= 0),
    refunded_minor      bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= total_minor),
    vat_rate_bp         integer NOT NULL CHECK (vat_rate_bp BETWEEN 0 AND 10000),
    prices_include_vat  boolean NOT NULL,
    shipping_address    jsonb,
    idempotency_key     text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    payment_provider    text NOT NULL,
    payment_session     text,
    payment_url         text,
    -- The provider's id of the payment itself (Stripe's payment intent), known once paid; refunds use it.
    payment_reference   text,
    reserved_until      timestamptz NOT NULL,
    paid_at             timestamptz,
    cancelled_at        timestamptz,
    cancel_reason       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (total_minor = subtotal_minor + vat_minor + shipping_minor)
);
-- A retried checkout with the same Idempotency-Key finds its order here; concurrent ones collide on it.
CREATE UNIQUE INDEX orders_idempotency ON orders (buyer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX orders_buyer ON orders (buyer_id, created_at DESC, id DESC);
-- The reservation sweeper's queue.
CREATE INDEX orders_expiring ON orders (reserved_until) WHERE status = 'pending_payment';
CREATE UNIQUE INDEX orders_payment_session ON orders (payment_provider, payment_session) WHERE payment_session IS NOT NULL;
CREATE INDEX orders_payment_reference ON orders (payment_provider, payment_reference) WHERE payment_reference IS NOT NULL;
CREATE INDEX orders_created ON orders (created_at);

-- One per seller in an order: the seller's view, with its own status and money.
CREATE TABLE seller_orders (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id            uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seller_id           uuid NOT NULL REFERENCES accounts (id),
    status              text NOT NULL DEFAULT 'pending_payment'
                        CHECK (status IN ('pending_payment', 'paid', 'shipped', 'delivered', 'cancelled')),
    currency            text NOT NULL,
    subtotal_minor      bigint NOT NULL CHECK (subtotal_minor >= 0),
    vat_minor           bigint NOT NULL CHECK (vat_minor >= 0),
    shipping_minor      bigint NOT NULL CHECK (shipping_minor >= 0),
    total_minor         bigint NOT NULL,
    platform_fee_minor  bigint NOT NULL CHECK (platform_fee_minor >= 0),
    seller_earnings_minor bigint NOT NULL CHECK (seller_earnings_minor >= 0),
    has_physical        boolean NOT NULL,
    carrier             text CHECK (length(carrier) BETWEEN 1 AND 100),
    tracking_number     text CHECK (length(tracking_number) BETWEEN 1 AND 100),
    shipped_at          timestamptz,
    delivered_at        timestamptz,
    cancelled_at        timestamptz,
    refunded_minor      bigint NOT NULL DEFAULT 0,
    refund_reference    text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, seller_id),
    CHECK (total_minor = subtotal_minor + vat_minor + shipping_minor),
    CHECK (platform_fee_minor + seller_earnings_minor = subtotal_minor)
);
CREATE INDEX seller_orders_seller ON seller_orders (seller_id, created_at DESC, id DESC);
CREATE INDEX seller_orders_order ON seller_orders (order_id);
-- The auto-complete sweeper's queue.
CREATE INDEX seller_orders_shipped ON seller_orders (shipped_at) WHERE status = 'shipped';

-- What was bought, priced as it was at checkout. `reservation` follows the stock it holds: held by an open checkout,
-- sold on payment, released on expiry or cancellation, restocked when a paid line is cancelled.
CREATE TABLE order_lines (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id            uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seller_order_id     uuid NOT NULL REFERENCES seller_orders (id) ON DELETE CASCADE,
    product_id          uuid NOT NULL REFERENCES products (id),
    title               text NOT NULL,
    product_type        text NOT NULL,
    unit_price_minor    bigint NOT NULL CHECK (unit_price_minor >= 0),
    quantity            integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    line_total_minor    bigint NOT NULL,
    reservation         text NOT NULL DEFAULT 'held' CHECK (reservation IN ('held', 'sold', 'released', 'restocked')),
    UNIQUE (seller_order_id, product_id),
    CHECK (line_total_minor = unit_price_minor * quantity)
);
CREATE INDEX order_lines_order ON order_lines (order_id);
CREATE INDEX order_lines_product ON order_lines (product_id);

-- Every state change of an order or seller order: who (an account, or the system/provider), when, from and to.
CREATE TABLE order_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seller_order_id uuid REFERENCES seller_orders (id) ON DELETE CASCADE,
    from_status     text,
    to_status       text NOT NULL,
    actor_id        uuid,
    actor_kind      text NOT NULL CHECK (actor_kind IN ('buyer', 'seller', 'admin', 'system', 'provider')),
    note            text,
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_history_order ON order_history (order_id, id);

-- Each provider event once: the primary key is what makes webhook handling idempotent.
CREATE TABLE payment_events (
    provider     text NOT NULL,
    event_id     text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    kind         text NOT NULL,
    order_id     uuid,
    outcome      text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX payment_events_order ON payment_events (order_id);

-- Sessions of the simulated provider: the hosted payment page Agora serves for itself.
CREATE TABLE simulated_payments (
    id          text PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    currency    text NOT NULL,
    amount      bigint NOT NULL,
    lines       jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'failed', 'expired')),
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Digital inventory: one row per key, credential or link, AES-256-GCM sealed under the key named by key_id
-- (nonce ‖ ciphertext ‖ tag, the product id as associated data). The fingerprint is an HMAC of the plaintext under
-- a key derived from the inventory key: duplicates are found without storing anything guessable.
CREATE TABLE inventory_items (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id     uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    key_id         text NOT NULL,
    sealed         bytea NOT NULL,
    fingerprint    bytea NOT NULL,
    status         text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'sold')),
    order_line_id  uuid REFERENCES order_lines (id),
    sold_at        timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, fingerprint),
    CHECK ((status = 'sold') = (order_line_id IS NOT NULL))
);
CREATE INDEX inventory_available ON inventory_items (product_id, created_at) WHERE status = 'available';
CREATE INDEX inventory_line ON inventory_items (order_line_id) WHERE order_line_id IS NOT NULL;

-- Reviews: one per buyer and product, after the seller order that bought it was delivered.
CREATE TABLE reviews (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id       uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    seller_id        uuid NOT NULL REFERENCES accounts (id),
    buyer_id         uuid NOT NULL REFERENCES accounts (id),
    seller_order_id  uuid NOT NULL REFERENCES seller_orders (id),
    rating           smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body             text NOT NULL DEFAULT '' CHECK (length(body) <= 2000),
    reply            text CHECK (length(reply) BETWEEN 1 AND 2000),
    replied_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (buyer_id, product_id)
);
CREATE INDEX reviews_product ON reviews (product_id, created_at DESC, id DESC);

-- Ratings kept in the transaction of each review: average = rating_sum / rating_count.
ALTER TABLE products ADD COLUMN rating_count integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0);
ALTER TABLE products ADD COLUMN rating_sum bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0);
CREATE TABLE seller_ratings (
    seller_id     uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    rating_count  integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum    bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0)
);

-- Payouts of a seller's available balance.
CREATE TABLE payouts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seller_id     uuid NOT NULL REFERENCES accounts (id),
    currency      text NOT NULL,
    amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
    status        text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'paid', 'failed')),
    note          text,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz
);
CREATE INDEX payouts_seller ON payouts (seller_id, requested_at DESC, id DESC);
CREATE INDEX payouts_requested ON payouts (requested_at DESC, id DESC);

-- The seller ledger: append-only, signed amounts in two buckets. A balance is the sum per bucket and currency.
-- Payment credits `pending`; delivery moves it to `available` (a debit of pending and a credit of available);
-- a refund debits whichever bucket holds it; a payout debits `available` (and a failed payout credits it back).
-- (entry, seller order) is unique, so a replay of any step adds nothing.
CREATE TABLE seller_ledger (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seller_id        uuid NOT NULL REFERENCES accounts (id),
    currency         text NOT NULL,
    bucket           text NOT NULL CHECK (bucket IN ('pending', 'available')),
    amount_minor     bigint NOT NULL,
    entry            text NOT NULL CHECK (entry IN ('earning', 'release', 'release_credit', 'reversal', 'payout', 'payout_failed')),
    seller_order_id  uuid REFERENCES seller_orders (id),
    payout_id        uuid REFERENCES payouts (id),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX seller_ledger_once_per_order ON seller_ledger (seller_order_id, entry) WHERE seller_order_id IS NOT NULL;
CREATE UNIQUE INDEX seller_ledger_once_per_payout ON seller_ledger (payout_id, entry) WHERE payout_id IS NOT NULL;
CREATE INDEX seller_ledger_seller ON seller_ledger (seller_id, currency, bucket);

-- Mails that carry digital items are blanked once sent or failed (MailOutbox.enqueue(sensitive:)).
ALTER TABLE mail_outbox ADD COLUMN sensitive boolean NOT NULL DEFAULT false;
