-- Clicks by link without reading the events: `link_stats` sums a link's clicks by people and
-- by machines per project, campaign ('' for none), stream and hour *of its email's queueing*
-- (`emails.created_at / 3600000`: statistics scope emails by when they were queued, as
-- `store/stats.rs` does), and `link_clickers` holds one row per email and link that a person
-- clicked; a row added or removed there moves `link_stats.unique_humans`, so "people who
-- clicked" is a sum like the others. A link is its destination, its index in the email and its
-- tag. Triggers keep both exact whatever writes the
-- events: an insert adds, a verdict changed later (a burst judged after its first clicks were
-- applied) moves the click between people and machines and removes the email from the clickers
-- once no person's click of that link is left, a deleted event (its contact deleted) takes its
-- click away. Adding a clicker twice or removing one already gone changes nothing, so the
-- triggers stay right however many rows one statement changes, on either database.
--
-- `shard` keeps concurrent writers apart on PostgreSQL as in `email_stats` (migrations/0011).

CREATE TABLE link_stats (
    project_id     TEXT   NOT NULL,
    campaign_id    TEXT   NOT NULL,
    hour           BIGINT NOT NULL,
    stream         TEXT   NOT NULL,
    url            TEXT   NOT NULL,
    link_index     BIGINT NOT NULL,
    tag            TEXT   NOT NULL,
    shard          BIGINT NOT NULL,
    human_clicks   BIGINT NOT NULL DEFAULT 0,
    machine_clicks BIGINT NOT NULL DEFAULT 0,
    -- The rows of `link_clickers` with these keys: kept by its own triggers.
    unique_humans  BIGINT NOT NULL DEFAULT 0
);
-- The key: a destination can be thousands of characters, past what a PostgreSQL index entry
-- holds (~2.7 KB), so PostgreSQL keys on its MD5 (ON CONFLICT names the same expression).
CREATE UNIQUE INDEX link_stats_key ON link_stats -- sqlite only
    (project_id, campaign_id, hour, stream, url, link_index, tag, shard);
CREATE UNIQUE INDEX link_stats_key ON link_stats -- postgres only
    (project_id, campaign_id, hour, stream, md5(url), link_index, tag, shard);
CREATE INDEX link_stats_campaign ON link_stats (project_id, campaign_id, hour);
CREATE INDEX link_stats_hour ON link_stats (project_id, hour);

CREATE TABLE link_clickers (
    project_id  TEXT   NOT NULL,
    campaign_id TEXT   NOT NULL,
    stream      TEXT   NOT NULL,
    hour        BIGINT NOT NULL,
    url         TEXT   NOT NULL,
    link_index  BIGINT NOT NULL,
    tag         TEXT   NOT NULL,
    email_id    TEXT   NOT NULL
);
CREATE UNIQUE INDEX link_clickers_key ON link_clickers -- sqlite only
    (email_id, link_index, url, tag);
CREATE UNIQUE INDEX link_clickers_key ON link_clickers -- postgres only
    (email_id, link_index, md5(url), tag);

INSERT INTO link_stats (project_id, campaign_id, hour, stream, url, link_index, tag, shard, human_clicks, machine_clicks)
SELECT ev.project_id, COALESCE(e.campaign_id, ''), e.created_at / 3600000, e.source_type,
    COALESCE(ev.link_url, ''), COALESCE(ev.link_index, 0), COALESCE(ev.link_tag, ''), 0,
    SUM(CASE WHEN ev.machine IS NULL THEN 1 ELSE 0 END), SUM(CASE WHEN ev.machine IS NULL THEN 0 ELSE 1 END)
FROM events ev JOIN emails e ON e.id = ev.email_id
WHERE ev.name = 'email.click'
GROUP BY ev.project_id, COALESCE(e.campaign_id, ''), e.created_at / 3600000, e.source_type,
    COALESCE(ev.link_url, ''), COALESCE(ev.link_index, 0), COALESCE(ev.link_tag, '');
INSERT INTO link_clickers (project_id, campaign_id, stream, hour, url, link_index, tag, email_id)
SELECT DISTINCT ev.project_id, COALESCE(e.campaign_id, ''), e.source_type, e.created_at / 3600000,
    COALESCE(ev.link_url, ''), COALESCE(ev.link_index, 0), COALESCE(ev.link_tag, ''), ev.email_id
FROM events ev JOIN emails e ON e.id = ev.email_id
WHERE ev.name = 'email.click' AND ev.machine IS NULL;
-- begin sqlite only
INSERT INTO link_stats (project_id, campaign_id, hour, stream, url, link_index, tag, shard, unique_humans)
SELECT project_id, campaign_id, hour, stream, url, link_index, tag, 0, COUNT(*)
FROM link_clickers WHERE true
GROUP BY project_id, campaign_id, hour, stream, url, link_index, tag
ON CONFLICT (project_id, campaign_id, hour, stream, url, link_index, tag, shard) DO UPDATE SET unique_humans = excluded.unique_humans;
-- end sqlite only
-- begin postgres only
INSERT INTO link_stats (project_id, campaign_id, hour, stream, url, link_index, tag, shard, unique_humans)
SELECT project_id, campaign_id, hour, stream, url, link_index, tag, 0, COUNT(*)
FROM link_clickers WHERE true
GROUP BY project_id, campaign_id, hour, stream, url, link_index, tag
ON CONFLICT (project_id, campaign_id, hour, stream, md5(url), link_index, tag, shard) DO UPDATE SET unique_humans = excluded.unique_humans;
-- end postgres only

-- begin sqlite only
CREATE TRIGGER link_stats_insert AFTER INSERT ON events
WHEN NEW.name = 'email.click'
BEGIN
    INSERT INTO link_stats (project_id, campaign_id, hour, stream, url, link_index, tag, shard, human_clicks, machine_clicks)
    SELECT NEW.project_id, COALESCE(e.campaign_id, ''), e.created_at / 3600000, e.source_type, COALESCE(NEW.link_url, ''), COALESCE(NEW.link_index, 0), COALESCE(NEW.link_tag, ''), 0, CASE WHEN NEW.machine IS NULL THEN 1 ELSE 0 END, CASE WHEN NEW.machine IS NULL THEN 0 ELSE 1 END
    FROM emails e WHERE e.id = NEW.email_id
    ON CONFLICT (project_id, campaign_id, hour, stream, url, link_index, tag, shard) DO UPDATE SET human_clicks = human_clicks + excluded.human_clicks,
        machine_clicks = machine_clicks + excluded.machine_clicks;
    INSERT INTO link_clickers (project_id, campaign_id, stream, hour, url, link_index, tag, email_id)
    SELECT NEW.project_id, COALESCE(e.campaign_id, ''), e.source_type, e.created_at / 3600000, COALESCE(NEW.link_url, ''), COALESCE(NEW.link_index, 0), COALESCE(NEW.link_tag, ''), NEW.email_id
    FROM emails e WHERE e.id = NEW.email_id AND NEW.machine IS NULL
    ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER link_stats_verdict AFTER UPDATE OF machine ON events
WHEN NEW.name = 'email.click' AND (OLD.machine IS NULL) <> (NEW.machine IS NULL)
BEGIN
    INSERT INTO link_stats (project_id, campaign_id, hour, stream, url, link_index, tag, shard, human_clicks, machine_clicks)
    SELECT NEW.project_id, COALESCE(e.campaign_id, ''), e.created_at / 3600000, e.source_type, COALESCE(NEW.link_url, ''), COALESCE(NEW.link_index, 0), COALESCE(NEW.link_tag, ''), 0, (CASE WHEN NEW.machine IS NULL THEN 1 ELSE 0 END) - (CASE WHEN OLD.machine IS NULL THEN 1 ELSE 0 END), (CASE WHEN NEW.machine IS NULL THEN 0 ELSE 1 END) - (CASE WHEN OLD.machine IS NULL THEN 0 ELSE 1 END)
    FROM emails e WHERE e.id = NEW.email_id
    ON CONFLICT (project_id, campaign_id, hour, stream, url, link_index, tag, shard) DO UPDATE SET human_clicks = human_clicks + excluded.human_clicks,
        machine_clicks = machine_clicks + excluded.machine_clicks;
    INSERT INTO link_clickers (project_id, campaign_id, stream, hour, url, link_index, tag, email_id)
    SELECT NEW.project_id, COALESCE(e.campaign_id, ''), e.source_type, e.created_at / 3600000, COALESCE(NEW.link_url, ''), COALESCE(NEW.link_index, 0), COALESCE(NEW.link_tag, ''), NEW.email_id
    FROM emails e WHERE e.id = NEW.email_id AND NEW.machine IS NULL
    ON CONFLICT DO NOTHING;
    DELETE FROM link_clickers WHERE NEW.machine IS NOT NULL AND email_id = NEW.email_id
        AND link_index = COALESCE(NEW.link_index, 0) AND url = COALESCE(NEW.link_url, '')
        AND tag = COALESCE(NEW.link_tag, '')
        AND NOT EXISTS (SELECT 1 FROM events o WHERE o.email_id = NEW.email_id
            AND o.name = 'email.click' AND o.machine IS NULL AND COALESCE(o.link_index, 0) = COALESCE(NEW.link_index, 0) AND COALESCE(o.link_url, '') = COALESCE(NEW.link_url, '') AND COALESCE(o.link_tag, '') = COALESCE(NEW.link_tag, ''));
END;
CREATE TRIGGER link_stats_delete AFTER DELETE ON events
WHEN OLD.name = 'email.click'
BEGIN
    INSERT INTO link_stats (project_id, campaign_id, hour, stream, url, link_index, tag, shard, human_clicks, machine_clicks)
    SELECT OLD.project_id, COALESCE(e.campaign_id, ''), e.created_at / 3600000, e.source_type, COALESCE(OLD.link_url, ''), COALESCE(OLD.link_index, 0), COALESCE(OLD.link_tag, ''), 0, -(CASE WHEN OLD.machine IS NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.machine IS NULL THEN 0 ELSE 1 END)
    FROM emails e WHERE e.id = OLD.email_id
    ON CONFLICT (project_id, campaign_id, hour, stream, url, link_index, tag, shard) DO UPDATE SET human_clicks = human_clicks + excluded.human_clicks,
        machine_clicks = machine_clicks + excluded.machine_clicks;
    DELETE FROM link_clickers WHERE OLD.machine IS NULL AND email_id = OLD.email_id
        AND link_index = COALESCE(OLD.link_index, 0) AND url = COALESCE(OLD.link_url, '')
        AND tag = COALESCE(OLD.link_tag, '')
        AND NOT EXISTS (SELECT 1 FROM events o WHERE o.email_id = OLD.email_id
            AND o.name = 'email.click' AND o.machine IS NULL AND COALESCE(o.link_index, 0) = COALESCE(OLD.link_index, 0) AND COALESCE(o.link_url, '') = COALESCE(OLD.link_url, '') AND COALESCE(o.link_tag, '') = COALESCE(OLD.link_tag, ''));
END;
CREATE TRIGGER link_clickers_insert AFTER INSERT ON link_clickers
BEGIN
    INSERT INTO link_stats (project_id, campaign_id, hour, stream, url, link_index, tag, shard, unique_humans)
    VALUES (NEW.project_id, NEW.campaign_id, NEW.hour, NEW.stream, NEW.url, NEW.link_index, NEW.tag, 0, 1)
    ON CONFLICT (project_id, campaign_id, hour, stream, url, link_index, tag, shard) DO UPDATE SET unique_humans = unique_humans + excluded.unique_humans;
END;
CREATE TRIGGER link_clickers_delete AFTER DELETE ON link_clickers
BEGIN
    INSERT INTO link_stats (project_id, campaign_id, hour, stream, url, link_index, tag, shard, unique_humans)
    VALUES (OLD.project_id, OLD.campaign_id, OLD.hour, OLD.stream, OLD.url, OLD.link_index, OLD.tag, 0, -1)
    ON CONFLICT (project_id, campaign_id, hour, stream, url, link_index, tag, shard) DO UPDATE SET unique_humans = unique_humans + excluded.unique_humans;
END;
-- end sqlite only

-- begin postgres only
CREATE FUNCTION link_stats_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_stats AS s (project_id, campaign_id, hour, stream, url, link_index, tag, shard, human_clicks, machine_clicks)
    SELECT NEW.project_id, COALESCE(e.campaign_id, ''), e.created_at / 3600000, e.source_type, COALESCE(NEW.link_url, ''), COALESCE(NEW.link_index, 0), COALESCE(NEW.link_tag, ''), pg_backend_pid(), CASE WHEN NEW.machine IS NULL THEN 1 ELSE 0 END, CASE WHEN NEW.machine IS NULL THEN 0 ELSE 1 END
    FROM emails e WHERE e.id = NEW.email_id
    ON CONFLICT (project_id, campaign_id, hour, stream, md5(url), link_index, tag, shard) DO UPDATE SET human_clicks = s.human_clicks + excluded.human_clicks,
        machine_clicks = s.machine_clicks + excluded.machine_clicks;
    INSERT INTO link_clickers (project_id, campaign_id, stream, hour, url, link_index, tag, email_id)
    SELECT NEW.project_id, COALESCE(e.campaign_id, ''), e.source_type, e.created_at / 3600000, COALESCE(NEW.link_url, ''), COALESCE(NEW.link_index, 0), COALESCE(NEW.link_tag, ''), NEW.email_id
    FROM emails e WHERE e.id = NEW.email_id AND NEW.machine IS NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION link_stats_verdict() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_stats AS s (project_id, campaign_id, hour, stream, url, link_index, tag, shard, human_clicks, machine_clicks)
    SELECT NEW.project_id, COALESCE(e.campaign_id, ''), e.created_at / 3600000, e.source_type, COALESCE(NEW.link_url, ''), COALESCE(NEW.link_index, 0), COALESCE(NEW.link_tag, ''), pg_backend_pid(), (CASE WHEN NEW.machine IS NULL THEN 1 ELSE 0 END) - (CASE WHEN OLD.machine IS NULL THEN 1 ELSE 0 END), (CASE WHEN NEW.machine IS NULL THEN 0 ELSE 1 END) - (CASE WHEN OLD.machine IS NULL THEN 0 ELSE 1 END)
    FROM emails e WHERE e.id = NEW.email_id
    ON CONFLICT (project_id, campaign_id, hour, stream, md5(url), link_index, tag, shard) DO UPDATE SET human_clicks = s.human_clicks + excluded.human_clicks,
        machine_clicks = s.machine_clicks + excluded.machine_clicks;
    INSERT INTO link_clickers (project_id, campaign_id, stream, hour, url, link_index, tag, email_id)
    SELECT NEW.project_id, COALESCE(e.campaign_id, ''), e.source_type, e.created_at / 3600000, COALESCE(NEW.link_url, ''), COALESCE(NEW.link_index, 0), COALESCE(NEW.link_tag, ''), NEW.email_id
    FROM emails e WHERE e.id = NEW.email_id AND NEW.machine IS NULL
    ON CONFLICT DO NOTHING;
    DELETE FROM link_clickers WHERE NEW.machine IS NOT NULL AND email_id = NEW.email_id
        AND link_index = COALESCE(NEW.link_index, 0) AND url = COALESCE(NEW.link_url, '')
        AND tag = COALESCE(NEW.link_tag, '')
        AND NOT EXISTS (SELECT 1 FROM events o WHERE o.email_id = NEW.email_id
            AND o.name = 'email.click' AND o.machine IS NULL AND COALESCE(o.link_index, 0) = COALESCE(NEW.link_index, 0) AND COALESCE(o.link_url, '') = COALESCE(NEW.link_url, '') AND COALESCE(o.link_tag, '') = COALESCE(NEW.link_tag, ''));
    RETURN NULL;
END $$;
CREATE FUNCTION link_stats_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_stats AS s (project_id, campaign_id, hour, stream, url, link_index, tag, shard, human_clicks, machine_clicks)
    SELECT OLD.project_id, COALESCE(e.campaign_id, ''), e.created_at / 3600000, e.source_type, COALESCE(OLD.link_url, ''), COALESCE(OLD.link_index, 0), COALESCE(OLD.link_tag, ''), pg_backend_pid(), -(CASE WHEN OLD.machine IS NULL THEN 1 ELSE 0 END), -(CASE WHEN OLD.machine IS NULL THEN 0 ELSE 1 END)
    FROM emails e WHERE e.id = OLD.email_id
    ON CONFLICT (project_id, campaign_id, hour, stream, md5(url), link_index, tag, shard) DO UPDATE SET human_clicks = s.human_clicks + excluded.human_clicks,
        machine_clicks = s.machine_clicks + excluded.machine_clicks;
    DELETE FROM link_clickers WHERE OLD.machine IS NULL AND email_id = OLD.email_id
        AND link_index = COALESCE(OLD.link_index, 0) AND url = COALESCE(OLD.link_url, '')
        AND tag = COALESCE(OLD.link_tag, '')
        AND NOT EXISTS (SELECT 1 FROM events o WHERE o.email_id = OLD.email_id
            AND o.name = 'email.click' AND o.machine IS NULL AND COALESCE(o.link_index, 0) = COALESCE(OLD.link_index, 0) AND COALESCE(o.link_url, '') = COALESCE(OLD.link_url, '') AND COALESCE(o.link_tag, '') = COALESCE(OLD.link_tag, ''));
    RETURN NULL;
END $$;
CREATE FUNCTION link_clickers_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_stats AS s (project_id, campaign_id, hour, stream, url, link_index, tag, shard, unique_humans)
    VALUES (NEW.project_id, NEW.campaign_id, NEW.hour, NEW.stream, NEW.url, NEW.link_index, NEW.tag, pg_backend_pid(), 1)
    ON CONFLICT (project_id, campaign_id, hour, stream, md5(url), link_index, tag, shard) DO UPDATE SET unique_humans = s.unique_humans + excluded.unique_humans;
    RETURN NULL;
END $$;
CREATE FUNCTION link_clickers_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_stats AS s (project_id, campaign_id, hour, stream, url, link_index, tag, shard, unique_humans)
    VALUES (OLD.project_id, OLD.campaign_id, OLD.hour, OLD.stream, OLD.url, OLD.link_index, OLD.tag, pg_backend_pid(), -1)
    ON CONFLICT (project_id, campaign_id, hour, stream, md5(url), link_index, tag, shard) DO UPDATE SET unique_humans = s.unique_humans + excluded.unique_humans;
    RETURN NULL;
END $$;
CREATE TRIGGER link_clickers_insert AFTER INSERT ON link_clickers
    FOR EACH ROW EXECUTE FUNCTION link_clickers_insert();
CREATE TRIGGER link_clickers_delete AFTER DELETE ON link_clickers
    FOR EACH ROW EXECUTE FUNCTION link_clickers_delete();
CREATE TRIGGER link_stats_insert AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.name = 'email.click') EXECUTE FUNCTION link_stats_insert();
CREATE TRIGGER link_stats_verdict AFTER UPDATE OF machine ON events
    FOR EACH ROW WHEN (NEW.name = 'email.click' AND (OLD.machine IS NULL) <> (NEW.machine IS NULL))
    EXECUTE FUNCTION link_stats_verdict();
CREATE TRIGGER link_stats_delete AFTER DELETE ON events
    FOR EACH ROW WHEN (OLD.name = 'email.click') EXECUTE FUNCTION link_stats_delete();
-- end postgres only
