-- Shared helpers for the domain tables later migrations add.

-- Keeps an updated_at column current: CREATE TRIGGER ... BEFORE UPDATE ... EXECUTE FUNCTION set_updated_at().
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
