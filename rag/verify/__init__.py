"""Whether a sentence is backed by its source.

Word-overlap support for answers (``overlap``), and the claim checker's
support, contradiction, quantities, polarity and speakers, one module each.
"""
