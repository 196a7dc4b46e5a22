"""Commerce use cases: buying content and series, payment events, refunds, grants."""
