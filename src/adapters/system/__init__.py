"""Clock and id generation."""
