-- Accounts and the single-use tokens of email verification and password reset.

CREATE TABLE accounts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- As given, domain lower-cased; unique without regard to case (the index below), as mail providers treat it.
    email               text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- Stored lower-case, so the plain unique index is case-insensitive.
    username            text NOT NULL CHECK (username ~ '^[a-z][a-z0-9_]{2,29}$'),
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 50),
    password_hash       text NOT NULL,
    role                text NOT NULL DEFAULT 'buyer' CHECK (role IN ('buyer', 'seller', 'admin')),
    email_verified_at   timestamptz,
    bio                 text NOT NULL DEFAULT '' CHECK (length(bio) <= 500),
    avatar_url          text CHECK (length(avatar_url) <= 2048),
    location            text CHECK (length(location) <= 100),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
CREATE UNIQUE INDEX accounts_username_key ON accounts (username);
CREATE TRIGGER accounts_set_updated_at BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Only the SHA-256 of a token is stored: a leaked table cannot be replayed as links.
CREATE TABLE account_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_tokens_account ON account_tokens (account_id, purpose) WHERE used_at IS NULL;
