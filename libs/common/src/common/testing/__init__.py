"""Test support: isolated database and broker names per run, tokens, process runners."""
