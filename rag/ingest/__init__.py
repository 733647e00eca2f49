"""Files to passages: read a file, extract its text and structure, split sentences, cut chunks, prepare.

Pure functions over records (no store, no encoder state), so the plain loop
and the Ray actors run the same code.
"""
