-- PostgreSQL database dump
/* a /* nested */ comment never closed
CREATE TABLE t (a int);
