"""Mailers: a file mailer for the embedded default, SMTP for production."""
