"""Answers and checks written to files (.md, .html, .json, .pdf), and re-checking an export's quotes."""
