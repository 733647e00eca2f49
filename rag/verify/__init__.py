"""Whether a sentence is backed by its source: word-overlap support for answers, and the claim checker's support, contradiction, quantities and speakers."""
