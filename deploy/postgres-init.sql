-- Two databases on one PostgreSQL: Inngest's own (POSTGRES_DB=inngest) and the results.
CREATE DATABASE results;
