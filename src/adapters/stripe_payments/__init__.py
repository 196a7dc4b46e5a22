"""The Stripe payment gateway, through the official SDK; webhooks deliver the outcome."""
