"""Where passages live: SQLite and PostgreSQL behind one ``Store`` protocol, FAISS vectors, full-text search.

Imports only ``rag.core`` and ``rag.lang``: a store knows rows, not models.
"""
