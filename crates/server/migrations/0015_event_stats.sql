-- Opens, clicks, bounces, complaints and unsubscribes by the hour they happened, without
-- reading the events: `event_stats` counts them per project, stream (the email's source:
-- TRANSACTIONAL, CAMPAIGN, WORKFLOW), hour (`created_at / 3600000`), event name and machine
-- reason ('' for a person's) — once under `campaign_id = '*'` (the whole project) and, for a
-- campaign's email, once more under its campaign, so neither a project's charts nor a
-- campaign's read more rows than their own. Triggers keep it exact whatever writes the events:
-- an insert adds one, a changed verdict (a burst judged later) moves one from its old reason to
-- its new one, a deleted event (its contact deleted) takes one away. Charts over time, the
-- weekday × hour map of opens and the machine share by reason read it (store/event_stats.rs).
--
-- `shard` keeps concurrent writers apart on PostgreSQL as in `email_stats` (migrations/0011).

CREATE TABLE event_stats (
    project_id  TEXT   NOT NULL,
    stream      TEXT   NOT NULL,
    campaign_id TEXT   NOT NULL,
    hour        BIGINT NOT NULL,
    name        TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    shard       BIGINT NOT NULL,
    n           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, stream, campaign_id, hour, name, reason, shard)
);
CREATE INDEX event_stats_campaign ON event_stats (project_id, campaign_id, hour);

INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
SELECT ev.project_id, COALESCE(e.source_type, ''), '*',
    ev.created_at / 3600000, ev.name, COALESCE(ev.machine, ''), 0, COUNT(*)
FROM events ev LEFT JOIN emails e ON e.id = ev.email_id
WHERE ev.name IN ('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed')
GROUP BY ev.project_id, COALESCE(e.source_type, ''), ev.created_at / 3600000, ev.name,
    COALESCE(ev.machine, '');
INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
SELECT ev.project_id, COALESCE(e.source_type, ''), ev.campaign_id,
    ev.created_at / 3600000, ev.name, COALESCE(ev.machine, ''), 0, COUNT(*)
FROM events ev LEFT JOIN emails e ON e.id = ev.email_id
WHERE ev.name IN ('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed') AND ev.campaign_id IS NOT NULL
GROUP BY ev.project_id, COALESCE(e.source_type, ''), ev.campaign_id, ev.created_at / 3600000,
    ev.name, COALESCE(ev.machine, '');

-- begin sqlite only
CREATE TRIGGER event_stats_insert AFTER INSERT ON events
WHEN NEW.name IN ('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed')
BEGIN
    INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT NEW.project_id, COALESCE((SELECT source_type FROM emails WHERE id = NEW.email_id), ''), '*', NEW.created_at / 3600000, NEW.name, COALESCE(NEW.machine, ''), 0, 1 WHERE true
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT NEW.project_id, COALESCE((SELECT source_type FROM emails WHERE id = NEW.email_id), ''), NEW.campaign_id, NEW.created_at / 3600000, NEW.name, COALESCE(NEW.machine, ''), 0, 1 WHERE NEW.campaign_id IS NOT NULL
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER event_stats_verdict AFTER UPDATE OF machine ON events
WHEN OLD.machine IS NOT NEW.machine AND NEW.name IN ('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed')
BEGIN
    INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT OLD.project_id, COALESCE((SELECT source_type FROM emails WHERE id = OLD.email_id), ''), '*', OLD.created_at / 3600000, OLD.name, COALESCE(OLD.machine, ''), 0, -1 WHERE true
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT OLD.project_id, COALESCE((SELECT source_type FROM emails WHERE id = OLD.email_id), ''), OLD.campaign_id, OLD.created_at / 3600000, OLD.name, COALESCE(OLD.machine, ''), 0, -1 WHERE OLD.campaign_id IS NOT NULL
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT NEW.project_id, COALESCE((SELECT source_type FROM emails WHERE id = NEW.email_id), ''), '*', NEW.created_at / 3600000, NEW.name, COALESCE(NEW.machine, ''), 0, 1 WHERE true
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT NEW.project_id, COALESCE((SELECT source_type FROM emails WHERE id = NEW.email_id), ''), NEW.campaign_id, NEW.created_at / 3600000, NEW.name, COALESCE(NEW.machine, ''), 0, 1 WHERE NEW.campaign_id IS NOT NULL
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER event_stats_delete AFTER DELETE ON events
WHEN OLD.name IN ('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed')
BEGIN
    INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT OLD.project_id, COALESCE((SELECT source_type FROM emails WHERE id = OLD.email_id), ''), '*', OLD.created_at / 3600000, OLD.name, COALESCE(OLD.machine, ''), 0, -1 WHERE true
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO event_stats (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT OLD.project_id, COALESCE((SELECT source_type FROM emails WHERE id = OLD.email_id), ''), OLD.campaign_id, OLD.created_at / 3600000, OLD.name, COALESCE(OLD.machine, ''), 0, -1 WHERE OLD.campaign_id IS NOT NULL
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = n + excluded.n;
END;
-- end sqlite only

-- begin postgres only
CREATE FUNCTION event_stats_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_stats AS s (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT NEW.project_id, COALESCE((SELECT source_type FROM emails WHERE id = NEW.email_id), ''), '*', NEW.created_at / 3600000, NEW.name, COALESCE(NEW.machine, ''), pg_backend_pid(), 1 WHERE true
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = s.n + excluded.n;
    INSERT INTO event_stats AS s (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT NEW.project_id, COALESCE((SELECT source_type FROM emails WHERE id = NEW.email_id), ''), NEW.campaign_id, NEW.created_at / 3600000, NEW.name, COALESCE(NEW.machine, ''), pg_backend_pid(), 1 WHERE NEW.campaign_id IS NOT NULL
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = s.n + excluded.n;
    RETURN NULL;
END $$;
CREATE FUNCTION event_stats_verdict() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_stats AS s (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT OLD.project_id, COALESCE((SELECT source_type FROM emails WHERE id = OLD.email_id), ''), '*', OLD.created_at / 3600000, OLD.name, COALESCE(OLD.machine, ''), pg_backend_pid(), -1 WHERE true
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = s.n + excluded.n;
    INSERT INTO event_stats AS s (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT OLD.project_id, COALESCE((SELECT source_type FROM emails WHERE id = OLD.email_id), ''), OLD.campaign_id, OLD.created_at / 3600000, OLD.name, COALESCE(OLD.machine, ''), pg_backend_pid(), -1 WHERE OLD.campaign_id IS NOT NULL
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = s.n + excluded.n;
    INSERT INTO event_stats AS s (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT NEW.project_id, COALESCE((SELECT source_type FROM emails WHERE id = NEW.email_id), ''), '*', NEW.created_at / 3600000, NEW.name, COALESCE(NEW.machine, ''), pg_backend_pid(), 1 WHERE true
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = s.n + excluded.n;
    INSERT INTO event_stats AS s (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT NEW.project_id, COALESCE((SELECT source_type FROM emails WHERE id = NEW.email_id), ''), NEW.campaign_id, NEW.created_at / 3600000, NEW.name, COALESCE(NEW.machine, ''), pg_backend_pid(), 1 WHERE NEW.campaign_id IS NOT NULL
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = s.n + excluded.n;
    RETURN NULL;
END $$;
CREATE FUNCTION event_stats_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_stats AS s (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT OLD.project_id, COALESCE((SELECT source_type FROM emails WHERE id = OLD.email_id), ''), '*', OLD.created_at / 3600000, OLD.name, COALESCE(OLD.machine, ''), pg_backend_pid(), -1 WHERE true
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = s.n + excluded.n;
    INSERT INTO event_stats AS s (project_id, stream, campaign_id, hour, name, reason, shard, n)
    SELECT OLD.project_id, COALESCE((SELECT source_type FROM emails WHERE id = OLD.email_id), ''), OLD.campaign_id, OLD.created_at / 3600000, OLD.name, COALESCE(OLD.machine, ''), pg_backend_pid(), -1 WHERE OLD.campaign_id IS NOT NULL
    ON CONFLICT (project_id, stream, campaign_id, hour, name, reason, shard) DO UPDATE SET n = s.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER event_stats_insert AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.name IN ('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed')) EXECUTE FUNCTION event_stats_insert();
CREATE TRIGGER event_stats_verdict AFTER UPDATE OF machine ON events
    FOR EACH ROW WHEN (OLD.machine IS DISTINCT FROM NEW.machine AND NEW.name IN ('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed'))
    EXECUTE FUNCTION event_stats_verdict();
CREATE TRIGGER event_stats_delete AFTER DELETE ON events
    FOR EACH ROW WHEN (OLD.name IN ('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed')) EXECUTE FUNCTION event_stats_delete();
-- end postgres only
