"""The assistant: one object that ingests, searches, answers (with conversation context) and fact-checks, over the stages below."""
