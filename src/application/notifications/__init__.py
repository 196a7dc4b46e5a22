"""Transactional email: rendering, delivery through the Mailer port, and email_logs."""
