"""`rag eval`: answer a file of questions with the real pipeline, score the answers, write the report."""
