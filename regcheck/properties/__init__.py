"""The named properties checked against the registration model."""
