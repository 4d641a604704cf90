-- Answer feedback (bot/feedback.py) and followed feeds (bot/follows.py), shared by every bot host.
-- feedback_answers.story is the story the question searched (NULL: the whole archive), kept so
-- feedback can be read per story; votes grow with use, so under Citus both tables would be
-- distributed by answer_id (story is NULL for archive-wide questions) or kept on the coordinator.
CREATE TABLE feedback_answers (
    answer_id text PRIMARY KEY,
    question text NOT NULL,
    story text,
    found boolean NOT NULL,
    shown jsonb NOT NULL,
    surface text NOT NULL,
    at double precision NOT NULL
);
CREATE INDEX feedback_answers_at ON feedback_answers (at);
CREATE TABLE feedback_votes (
    answer_id text NOT NULL REFERENCES feedback_answers(answer_id) ON DELETE CASCADE,
    user_hash text NOT NULL,
    surface text NOT NULL,
    choice text NOT NULL,
    at double precision NOT NULL,
    seq bigserial,  -- ties at the same time keep their order, as SQLite's rowid does
    PRIMARY KEY (answer_id, user_hash)
);
CREATE INDEX feedback_votes_at ON feedback_votes (at);

-- At most a few hundred feeds: small, never distributed.
CREATE TABLE follows_feeds (
    url text PRIMARY KEY, title text NOT NULL DEFAULT '', added_at double precision NOT NULL,
    etag text NOT NULL DEFAULT '', last_modified text NOT NULL DEFAULT '',
    checked_at double precision NOT NULL DEFAULT 0, ok_at double precision NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0, last_error text NOT NULL DEFAULT ''
);
CREATE TABLE follows_entries (
    feed text NOT NULL REFERENCES follows_feeds(url) ON DELETE CASCADE,
    link text NOT NULL,
    stamp text NOT NULL,
    PRIMARY KEY (feed, link)
);
