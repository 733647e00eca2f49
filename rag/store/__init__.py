"""Where passages live: the SQLite and PostgreSQL stores behind one ``Store`` protocol, FAISS vectors, the full-text index.

Imports only ``rag.core``, ``rag.lang`` and ``rag.ingest`` records: a store knows rows, not models."""
