-- a string whose escape is refused while a column default is read
CREATE TABLE public.t (
    a text DEFAULT E'abc\x'::text,
    b text DEFAULT E'\u12'::text
);
