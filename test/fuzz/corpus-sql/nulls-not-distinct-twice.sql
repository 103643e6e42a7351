-- two NULLS NOT DISTINCT clauses: one key in the record (fuzz-sql found a
-- repeated "nulls_not_distinct", which a JSON reader may refuse)
CREATE TABLE public.things ("Order" integer, name text);
CREATE UNIQUE INDEX things_nulls ON public.things ("Order", name) NULLS NOT DISTINCT NULLS NOT DISTINCT;
ALTER TABLE ONLY public.things ADD CONSTRAINT things_key UNIQUE NULLS NOT DISTINCT ("Order") INCLUDE (name);
