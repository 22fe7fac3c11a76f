-- A buyer's address book (issue 23, part 4): several addresses, at most one default. A checkout copies the chosen
-- address into the order (orders.shipping_address), so editing or deleting one never changes an order.
CREATE TABLE saved_addresses (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    label       text,
    address     jsonb NOT NULL,
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saved_addresses_account ON saved_addresses (account_id, created_at, id);
-- The one default per account, held by the database as well as by AddressBook.
CREATE UNIQUE INDEX saved_addresses_one_default ON saved_addresses (account_id) WHERE is_default;
