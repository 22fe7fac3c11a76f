-- Shareable product addresses (issue 23, part 2): /p/<slug>, where the slug is the title in lower-case ASCII words
-- and the first 12 hex digits of the id ("walnut-side-table-3f9a2c81d0e4"): readable, and unique without a lookup
-- (the index below refuses the astronomically unlikely twin). The slug follows the title; every slug a product had
-- is kept in product_slugs, so an old link answers 301 to the current one.

-- Latin letters with diacritics become their base letter (Afrikaans, European names); anything else that is not
-- a-z or 0-9 separates words. A title with no such letter at all ("手工茶杯") is "item".
CREATE FUNCTION agora_slug(title text, id uuid) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(trim(BOTH '-' FROM left(trim(BOTH '-' FROM regexp_replace(
               translate(replace(replace(replace(lower(title), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'),
                         'àáâãäåāăąçćčďđèéêëēėęěğìíîïīįıķĺļľłñńņňòóôõöøōőŕřśşšșţťțùúûüūůűųýÿźżž',
                         'aaaaaaaaacccddeeeeeeeegiiiiiiikllllnnnnoooooooorrsssstttuuuuuuuuyyzzz'),
               '[^a-z0-9]+', '-', 'g')), 60)), ''), 'item')
           || '-' || left(replace(id::text, '-', ''), 12)
$$;

ALTER TABLE products ADD COLUMN slug text GENERATED ALWAYS AS (agora_slug(title, id)) STORED;
CREATE UNIQUE INDEX products_slug ON products (slug);

-- Every earlier slug of a product, for the 301.
CREATE TABLE product_slugs (
    slug        text PRIMARY KEY,
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    retired_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_slugs_product ON product_slugs (product_id);

-- After a title change: the old slug joins the history; the new one leaves it (a title changed back is current again).
CREATE FUNCTION products_keep_old_slug() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.slug IS DISTINCT FROM OLD.slug THEN
        INSERT INTO product_slugs (slug, product_id) VALUES (OLD.slug, OLD.id) ON CONFLICT (slug) DO NOTHING;
        DELETE FROM product_slugs WHERE slug = NEW.slug;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER products_keep_old_slug AFTER UPDATE OF title ON products FOR EACH ROW EXECUTE FUNCTION products_keep_old_slug();
