SET client_encoding = 'UTF8';
CREATE TABLE public.posts (
    id bigint NOT NULL,
    title text SPARKLY,
    LIKE public.templates,
    body text
);
FROBNICATE TABLE public.posts;
ALTER TABLE ONLY public.comments ADD CONSTRAINT comments_pkey PRIMARY KEY (id);
CREATE INDEX index_tags_on_name ON public.tags USING btree (name);
ALTER TABLE ONLY public.posts ALTER COLUMN author_id SET DEFAULT 1;
COMMENT ON COLUMN public.posts.nope IS 'x';
ALTER TABLE ONLY public.posts ADD CONSTRAINT posts_pkey PRIMARY KEY (id) EXTRA;
CREATE TABLE public.posts (id integer);
