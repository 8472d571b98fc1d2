-- Amazon SES events through SNS (POST /webhooks/sns).

-- SNS delivers at least once: each processed MessageId is remembered (7 days, see
-- store/sns_messages.rs), so a repeated notification changes nothing.
CREATE TABLE sns_messages (
    message_id  TEXT PRIMARY KEY,
    topic_arn   TEXT   NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX sns_messages_received ON sns_messages (received_at);

-- SES events name the email by SES's message id, stored at hand-off as the provider message id.
CREATE INDEX emails_provider_message_id ON emails (provider_message_id);
