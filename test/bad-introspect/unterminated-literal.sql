SET client_encoding = 'UTF8';
CREATE TABLE public.t (
    a text DEFAULT 'oops
);
