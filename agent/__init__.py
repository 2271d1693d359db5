"""The LangGraph agent and the model runtime (one seam for every LLM call). Imports tools/ only."""
