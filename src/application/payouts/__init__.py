"""Media owners: invitations, payout onboarding, who is paid what of a sale, earnings."""
