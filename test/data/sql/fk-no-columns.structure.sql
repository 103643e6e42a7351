-- Foreign keys that name no columns: each references its table's
-- primary key, declared before or after the key (as pg_dump orders it).
CREATE SCHEMA s;

CREATE TABLE public.parents (
    code text NOT NULL,
    name text
);

CREATE TABLE s.pairs (
    a integer NOT NULL,
    b integer NOT NULL,
    CONSTRAINT pairs_pkey PRIMARY KEY (a, b)
);

CREATE TABLE public.kids (
    id bigint NOT NULL,
    parent_code text,
    pair_a integer,
    pair_b integer
);

ALTER TABLE ONLY public.parents
    ADD CONSTRAINT parents_pkey PRIMARY KEY (code);

ALTER TABLE ONLY public.kids
    ADD CONSTRAINT kids_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.kids
    ADD CONSTRAINT kids_parent_fk FOREIGN KEY (parent_code) REFERENCES public.parents;

ALTER TABLE ONLY public.kids
    ADD CONSTRAINT kids_pair_fk FOREIGN KEY (pair_a, pair_b) REFERENCES s.pairs ON DELETE CASCADE;

CREATE TABLE public.toys (
    id bigint NOT NULL,
    owner text CONSTRAINT toys_owner_fk REFERENCES parents,
    kid bigint CONSTRAINT toys_kid_fk REFERENCES public.kids ON DELETE SET NULL,
    CONSTRAINT toys_pkey PRIMARY KEY (id)
);
