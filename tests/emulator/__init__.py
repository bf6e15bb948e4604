"""Tests of the Sinch Groups emulator (sinch_emulator)."""
