"""Files to passages: read a file, extract its text and structure, split sentences, cut chunks, prepare a document for the index.

Pure functions over records (no store, no encoder state), so the plain loop and the Ray actors run the same code."""
