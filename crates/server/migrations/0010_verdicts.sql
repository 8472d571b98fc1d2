-- Machine verdicts judged over an email's clicks (tracking/judge.rs): a gateway re-checking a
-- link a person clicked is told apart by its network and kind of client. Each hit keeps both as
-- a keyed hash (`classify::fingerprint`), never in clear, on its backlog row and its event.
ALTER TABLE events ADD COLUMN client TEXT;
ALTER TABLE hits -- postgres only
    ADD COLUMN client TEXT;

-- Human clicks by email and time: judge.rs reads those within 30 s of each click it applies (a
-- re-check needs a person's click before it). Partial, so opens and machine clicks, most of the
-- events, never touch it; without it the read scanned every event of the contact in the window,
-- and an email a scanner clicks many times a second folded ~10x slower.
CREATE INDEX events_human_clicks ON events (email_id, created_at)
    WHERE name = 'email.click' AND machine IS NULL;
