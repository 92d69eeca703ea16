"""Architecture design: estimates, tier validation, config proposals."""
