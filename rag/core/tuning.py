"""The hand-set numbers left in the answer layer (and the follow-up rules it reads), in one place.

Every threshold that decides quality is fitted by `make calibrate` on the
three dev sets with leave-one-corpus-out validation and read from
``rag/data/calibration.json`` (``rag.core.calibration``): retrieval weights, the
evidence weights and keep ratio, ``min_relevance``, the rare-term share, the
word-translation threshold and the lead's support threshold. What is left here
are sizes and limits (how many chunks are searched for evidence, how many
quotes are shown, how long a lead may be). The limits of the language rules
(how short a stem may get, how many stopwords name a language) are language
data, in ``rag.lang``. Change them here and nowhere else. This module imports
nothing, so every layer can read it.
"""

from __future__ import annotations

# -- evidence: which sentences are candidates ------------------------------------------
EVIDENCE_CHUNKS = 8  # chunks searched for evidence (the answer may sit just below the top k)
WINDOW_HITS = 3  # the top hits whose neighbouring text is searched for evidence too
WINDOW_CHARS = 600  # how far around those hits (one chunk's length, Settings.chunk_chars)
EVIDENCE_LIMIT = 3  # evidence sentences shown for an ordinary question
LIST_EVIDENCE = 5  # ... for a question whose answer is a list of names
NEXT_SENTENCE_GAP = 3  # characters between a sentence and the next for them to be read as one
LIST_UNIT_CHARS = 500  # a lead-in quoted with its list items: at most this long (about one chunk's worth)...
LIST_UNIT_ITEMS = 8  # ... and at most this many items
SHORT_UNIT_WORDS = 5  # a sentence this short ("The default is 50.") is quoted with the one before it

# -- evidence: score = sum of feature x weight -----------------------------------------
# The weights are fitted by bench/calibrate_evidence.py (rag/data/calibration.json, "evidence");
# rag.core.calibration.UNFITTED_EVIDENCE_WEIGHTS holds the hand-set ones used without that file.
READ_CANDIDATES = 12  # the best candidates the reader scores (rag.answer.read): about 0.3 s of one core
TRANSLATE_CANDIDATES = 3  # the best non-English candidates rendered in English before the final ranking

# -- lead ----------------------------------------------------------------------------------
LEAD_MAX_CHARS = 300  # a lead longer than this is not a short answer
PROMPT_RESERVE = 8  # tokens kept free beside max_new_tokens when fitting the prompt

# -- follow-up questions ---------------------------------------------------------------------
FOLLOW_UP_FEW_WORDS = 2  # a question with this many content words or fewer (and no name) cannot stand alone
FOLLOW_UP_CONTEXT_CHARS = 300  # how much of the last answer's first statement goes into the search
