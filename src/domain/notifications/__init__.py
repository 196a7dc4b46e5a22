"""In-app notifications and each person's choice of where they are told."""
