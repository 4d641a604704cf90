-- State several bot hosts share: which chat events were answered, and channel/thread bindings.
-- Small and bounded (events expire after an hour, threads are capped), so not distributed:
-- under Citus they stay on the coordinator (or become reference tables).
CREATE TABLE seen_events (key text PRIMARY KEY, at double precision NOT NULL);
CREATE INDEX seen_events_at ON seen_events (at);

CREATE TABLE channel_bindings (channel text PRIMARY KEY, story text NOT NULL);

CREATE SEQUENCE thread_bindings_touch;
CREATE TABLE thread_bindings (
    thread text PRIMARY KEY,
    story text NOT NULL,
    touched bigint NOT NULL DEFAULT nextval('thread_bindings_touch')  -- recency, for the cap
);
CREATE INDEX thread_bindings_story ON thread_bindings (story);
CREATE INDEX thread_bindings_touched ON thread_bindings (touched);
CREATE INDEX channel_bindings_story ON channel_bindings (story);
