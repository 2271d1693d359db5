"""The world the agent acts on: catalog, datasets, embeddings, Qdrant, BM25, fusion, LangChain tools.

Bottom layer: imports none of agent/, training/, ui/, evals/.
"""
