-- test/21-introspect-pg.bats, pg-1.10: the definitions introspect spells out
-- from the catalog of a live database, and those it leaves to the server
CREATE SCHEMA "o'dd";
CREATE TYPE "o'dd".mood AS ENUM ('sad', 'ok');
CREATE DOMAIN public.short_text AS character varying(20);
CREATE TYPE public.box2 AS (lo integer, hi integer);
CREATE TABLE public.things (
    id bigserial PRIMARY KEY,
    "Order" integer,
    name character varying(40) COLLATE "C",
    code public.short_text,
    tags text[],
    nums integer[],
    doc jsonb,
    mood "o'dd".mood,
    amount numeric(12,3),
    at timestamp(3) with time zone,
    span interval day to second(2),
    ym interval year to month,
    flags bit varying(8),
    b bit(3),
    pair public.box2,
    deleted_at timestamp without time zone,
    archived boolean,
    hashkey uuid
);
COMMENT ON TABLE public.things IS 'things';
COMMENT ON COLUMN public.things."Order" IS 'ordering';
CREATE INDEX things_live ON public.things (name) WHERE deleted_at IS NULL;
CREATE INDEX things_live2 ON public.things ("Order", id DESC) WHERE deleted_at IS NULL AND "Order" IS NOT NULL;
CREATE INDEX things_archived ON public.things (id) WHERE archived;
CREATE INDEX things_or ON public.things (id) WHERE deleted_at IS NULL OR archived;
CREATE INDEX things_hash ON public.things USING hash (hashkey);
CREATE INDEX things_tags ON public.things USING gin (tags);
CREATE INDEX things_doc ON public.things USING gin (doc jsonb_path_ops);
CREATE INDEX things_doc2 ON public.things USING gin (doc) WHERE deleted_at IS NULL;
CREATE INDEX things_nums ON public.things USING gin (nums);
CREATE INDEX things_pattern ON public.things (name varchar_pattern_ops);
CREATE INDEX things_code ON public.things (code);
CREATE INDEX things_mood ON public.things (mood);
CREATE INDEX things_cover ON public.things (name) INCLUDE (amount, at);
CREATE INDEX things_coll ON public.things (name COLLATE "POSIX");
CREATE INDEX things_expr ON public.things (lower(name));
CREATE INDEX things_fill ON public.things (id) WITH (fillfactor = 70);
CREATE UNIQUE INDEX things_nulls ON public.things ("Order", name) NULLS NOT DISTINCT;
CREATE TABLE public.parts (id integer, at date) PARTITION BY RANGE (at);
CREATE INDEX parts_at ON public.parts (at) WHERE id IS NOT NULL;
CREATE TABLE "o'dd".extra (id integer PRIMARY KEY, note text, m "o'dd".mood);
COMMENT ON TABLE "o'dd".extra IS 'odd';
CREATE TABLE public.kinds (
    a bpchar,
    b character(1),
    c character(7)[],
    d character varying,
    e character varying(20)[],
    f numeric(5,0),
    g numeric(3,-2),
    h numeric[],
    i numeric(10,2)[],
    j time(0) without time zone,
    k time with time zone,
    l timestamp(0) without time zone,
    m timestamp with time zone[],
    n timestamp(3) without time zone[],
    o "char",
    p real,
    q double precision[],
    r smallint[],
    s json[],
    t inet,
    u bytea,
    v interval(3),
    w bit(1),
    x bit varying,
    y public.short_text[],
    z "o'dd".mood[]
);
