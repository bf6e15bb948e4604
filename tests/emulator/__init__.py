"""Tests of the Sinch Groups emulator (pipeline.emulator)."""
