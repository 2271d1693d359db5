"""Metrics (pure functions), evaluation protocols, baselines and reports. Imports agent/ and tools/."""
