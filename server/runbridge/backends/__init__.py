"""Backends: where a session's code actually runs."""
