"""Use cases of the CreditLedger."""
