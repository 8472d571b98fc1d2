//! SmtpPool against the in-process SmtpSink.
