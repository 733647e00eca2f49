"""Answers and checks written to files (.md, .html, .json, .pdf) and `rag verify`, which re-checks an export's quotes."""
