"""The assistant: one object that ingests, searches, answers (with conversation context) and fact-checks.

It only puts the stages below together; what each step does lives there.
"""
