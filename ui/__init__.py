"""The browser chat for the cited RAG assistant (`rag serve`)."""
