"""The library and its index (files, trash, sync, encoders, FAISS lifecycle) and hybrid retrieval over it."""
