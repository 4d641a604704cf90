-- The index: every table that grows carries the story id, so each can be distributed by it
-- (Citus: SELECT create_distributed_table('units', 'story'), co-located with stories) unchanged.
-- Primary keys include the story id for the same reason.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);

CREATE TABLE stories (
    id text PRIMARY KEY,
    headline text NOT NULL, byline text NOT NULL, standfirst text NOT NULL, url text NOT NULL,
    date text NOT NULL, source text NOT NULL, dropped jsonb NOT NULL, content_hash text NOT NULL,
    seq bigint NOT NULL
);

CREATE TABLE paragraphs (
    story text NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    number integer NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (story, number)
);

-- One row per sentence unit. id orders units as ingested (the embedded store's FAISS ids);
-- embedding is the L2-normalised MiniLM vector, so inner product is cosine.
CREATE TABLE units (
    story text NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    paragraph integer NOT NULL, start integer NOT NULL, "end" integer NOT NULL,
    speaker text NOT NULL,
    embedding vector(384) NOT NULL,
    tsv tsvector NOT NULL,
    PRIMARY KEY (story, id)
);
CREATE INDEX units_id ON units (id);
-- Story-scoped search filters on the primary key's leading column (B-tree), then orders by distance.
CREATE INDEX units_embedding_hnsw ON units USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX units_tsv ON units USING gin (tsv);

CREATE TABLE quotes (
    story text NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    speaker text NOT NULL, aliases jsonb NOT NULL, role text NOT NULL, text text NOT NULL,
    paragraphs jsonb NOT NULL, kind text NOT NULL,
    PRIMARY KEY (story, id)
);
