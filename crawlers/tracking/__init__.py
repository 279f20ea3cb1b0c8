"""Tracked hashtags and accounts: rules, when they are due, and what a run does."""
