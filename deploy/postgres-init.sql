-- One database per service: no service can read another's tables.
CREATE DATABASE ingest;
CREATE DATABASE validate;
CREATE DATABASE catalog;
CREATE DATABASE events;
