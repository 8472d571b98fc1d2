-- Machine verdicts judged over an email's clicks (tracking/judge.rs): a gateway re-checking a
-- link a person clicked is told apart by its network and kind of client. Each hit keeps both as
-- a keyed hash (`classify::fingerprint`), never in clear, on its backlog row and its event.
ALTER TABLE events ADD COLUMN client TEXT;
ALTER TABLE hits -- postgres only
    ADD COLUMN client TEXT;
