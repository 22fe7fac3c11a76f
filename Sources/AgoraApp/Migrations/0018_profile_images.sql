-- Store profiles (issue 23, part 3): an uploaded avatar and banner. The URLs are what profiles show; the keys name
-- the files an upload stored, so replacing or removing one deletes its file. Only an upload sets a key: an avatar URL
-- set by PATCH /api/me (an https URL, or a /media/ path) never names a file to delete.
ALTER TABLE accounts
    ADD COLUMN banner_url text,
    ADD COLUMN avatar_key text,
    ADD COLUMN banner_key text;
