"""The CreditLedger aggregate: earning, spending, expiring and adjusting credits."""
