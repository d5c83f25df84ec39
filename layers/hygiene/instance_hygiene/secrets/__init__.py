"""Nothing secret leaves: redaction of messages and log lines. Pure."""
