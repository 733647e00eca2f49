"""Recipes that rebuild the models trained here (reader, verifier) from documents, never from eval sets."""
