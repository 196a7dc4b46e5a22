"""Media owners: their invitations, payout accounts and earnings."""
