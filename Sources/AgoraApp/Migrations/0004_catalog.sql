-- Catalog (categories, products, images, likes), the social graph (follows) and the domain-event outbox.

-- pg_trgm is database-wide: create it once in public (where every search path ends), tolerating a concurrent
-- creator; a second schema migrating at the same time would otherwise fail on the extension's unique name.
-- fuzzystrmatch gives levenshtein() for typo correction. Both are trusted extensions: the database owner may create them.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;
END
$$;
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS fuzzystrmatch WITH SCHEMA public;
EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;
END
$$;

CREATE TABLE categories (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    parent_id   uuid REFERENCES categories (id),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 60),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX categories_parent ON categories (parent_id, position, name);
CREATE TRIGGER categories_set_updated_at BEFORE UPDATE ON categories FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- array_to_string is only STABLE (element output functions could in principle change); for text[] it cannot,
-- and a generated column needs an IMMUTABLE expression.
CREATE FUNCTION agora_tags_text(tags text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(tags, ' ') $$;

CREATE TABLE products (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seller_id           uuid NOT NULL REFERENCES accounts (id),
    category_id         uuid REFERENCES categories (id),
    title               text NOT NULL CHECK (length(title) BETWEEN 3 AND 120),
    description         text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    price_minor         bigint NOT NULL CHECK (price_minor BETWEEN 0 AND 100000000000),
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    condition           text NOT NULL DEFAULT 'new' CHECK (condition IN ('new', 'like-new', 'good', 'fair')),
    tags                text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    stock               integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
    -- Held by open checkouts (the commerce issue); available = stock - reserved, never below zero.
    reserved            integer NOT NULL DEFAULT 0,
    low_stock_threshold integer NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
    type                text NOT NULL DEFAULT 'physical' CHECK (type IN ('physical', 'key', 'credential', 'link')),
    latitude            double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude           double precision CHECK (longitude BETWEEN -180 AND 180),
    status              text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'unpublished', 'archived')),
    like_count          integer NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    view_count          bigint NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    published_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- Set by the service on edits, not by a trigger: like and view counters change the row without editing it.
    updated_at          timestamptz NOT NULL DEFAULT now(),
    search              tsvector GENERATED ALWAYS AS (
                            setweight(to_tsvector('english', title), 'A')
                            || setweight(to_tsvector('english', agora_tags_text(tags)), 'B')
                            || setweight(to_tsvector('english', description), 'C')
                        ) STORED,
    CONSTRAINT products_reserved_within_stock CHECK (reserved >= 0 AND reserved <= stock),
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK (status <> 'published' OR published_at IS NOT NULL)
);
-- Listings only ever show published products, so every browse index is partial on that.
CREATE INDEX products_newest ON products (published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX products_price ON products (price_minor, id) WHERE status = 'published';
CREATE INDEX products_liked ON products (like_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX products_category_newest ON products (category_id, published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX products_seller_newest ON products (seller_id, published_at DESC, id DESC) WHERE status = 'published';
-- The seller's own list (every status).
CREATE INDEX products_seller_all ON products (seller_id, created_at DESC, id DESC);
CREATE INDEX products_search ON products USING gin (search) WHERE status = 'published';

-- The vocabulary of the catalog, as English stems: what typo correction picks from ("iphnoe" -> "iphon", the stem of
-- "iPhone"). Filled by a trigger, never pruned (a stale word only costs a candidate that matches nothing).
CREATE TABLE catalog_words (
    word  text PRIMARY KEY
);
CREATE INDEX catalog_words_trgm ON catalog_words USING gin (word gin_trgm_ops);

CREATE FUNCTION catalog_words_collect() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalog_words (word)
    SELECT DISTINCT t.lexeme
    FROM unnest(to_tsvector('english', NEW.title || ' ' || agora_tags_text(NEW.tags) || ' ' || NEW.description)) AS t
    -- Words only: model numbers and sizes are not typo-corrected.
    WHERE length(t.lexeme) BETWEEN 3 AND 40 AND t.lexeme ~ '^[[:alpha:]]+$'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER products_collect_words AFTER INSERT OR UPDATE OF title, tags, description ON products
    FOR EACH ROW EXECUTE FUNCTION catalog_words_collect();
-- Built-in geometry, no extension: a bounding box on this index, then the exact great-circle distance.
CREATE INDEX products_location ON products USING gist (point(longitude, latitude))
    WHERE status = 'published' AND latitude IS NOT NULL;

CREATE TABLE product_images (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id    uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position      integer NOT NULL CHECK (position >= 0),
    storage_key   text NOT NULL UNIQUE,
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    width         integer NOT NULL CHECK (width > 0),
    height        integer NOT NULL CHECK (height > 0),
    byte_size     integer NOT NULL CHECK (byte_size > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Deferred, so a reorder can swap positions inside one transaction.
    CONSTRAINT product_images_position_key UNIQUE (product_id, position) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE product_likes (
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, product_id)
);
-- GET /api/me/likes, newest first.
CREATE INDEX product_likes_account ON product_likes (account_id, created_at DESC, product_id);

CREATE TABLE follows (
    follower_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    followee_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_following ON follows (follower_id, created_at DESC, followee_id);
CREATE INDEX follows_followers ON follows (followee_id, created_at DESC, follower_id);

-- Kept in the same transaction as each follow or unfollow, so counts are exact without COUNT(*) over big lists.
CREATE TABLE follow_counts (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    followers   integer NOT NULL DEFAULT 0 CHECK (followers >= 0),
    following   integer NOT NULL DEFAULT 0 CHECK (following >= 0)
);

-- Domain events, written in the transaction of the change that caused them (a transactional outbox): an event
-- exists exactly when its change committed. The realtime issue consumes them; ids grow, but a reader must allow
-- for a lower id committing after a higher one (concurrent transactions).
CREATE TABLE domain_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type         text NOT NULL,
    actor_id     uuid,
    subject_id   uuid,
    payload      jsonb NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domain_events_subject ON domain_events (subject_id, id);
