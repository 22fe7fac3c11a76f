-- Issue 24: logging in with an OAuth 2 provider (Discord by default). An account made through a provider has no
-- password until its owner sets one (a password reset): password_hash may be NULL, and a NULL hash matches no
-- password. Each provider account is linked to at most one Agora account, and an Agora account to at most one
-- account of each provider.
ALTER TABLE accounts ALTER COLUMN password_hash DROP NOT NULL;

CREATE TABLE oauth_identities (
    provider    text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{0,29}$'),
    -- The provider's stable user id (Discord's snowflake), never its username or email, which change.
    subject     text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- What the provider called the user when last seen, for the account page.
    username    text NOT NULL DEFAULT '' CHECK (length(username) <= 100),
    linked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject),
    UNIQUE (account_id, provider)
);
