"""Reliability and security: faults, crashes, hostile input, secrets (tries hard to break it)."""
