"""Chainlit app, Slack bot and the `llmrec` CLI: thin adapters over agent/. Imports agent/ and tools/."""
