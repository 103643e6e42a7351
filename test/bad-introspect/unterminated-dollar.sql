CREATE FUNCTION public.f() RETURNS int
    LANGUAGE sql
    AS $body$ SELECT 1 $$;
