CREATE TABLE public.t (
    a text DEFAULT E'\u12'
);
