"""Answer a question from retrieved passages, citing and verifying every statement.

One job per module:

- ``plan``: what the question asks (answer type, list or not, the terms it is about, override attempts);
- ``evidence``: candidate sentences scored as features x weights;
- ``refuse``: the answerability policy;
- ``lead``: the prompt, generation and the checks on the model's short answer;
- ``verifier``: the ``Verifier`` protocol and the default word-overlap verifier;
- ``compose``: the structured answer (citations and statements);
- ``answerer``: the ``Answerer`` protocol and ``CitedAnswerer``, which runs the steps in order (extractive);
- ``generative``: a capable model's cited answer, every sentence verified (``GenerativeAnswerer``);
- ``summary``: cited summaries of the document a request names (``SummaryAnswerer``);
- ``modes``: ``ModalAnswerer``, the default, picks summary, generative or extractive (``answer_mode``).

Every hand-set number they use is in ``rag.core.tuning``.

So the answer never states more than the documents do, whatever the model.
"""

from rag.answer.answerer import Answerer, CitedAnswerer, stream_answer, warm_up
from rag.answer.evidence import Evidence, select_evidence
from rag.answer.generative import GenerativeAnswerer
from rag.answer.lead import ambiguous_number, build_prompt, clean_lead
from rag.answer.modes import ModalAnswerer, answer_mode
from rag.answer.plan import Plan, asks_for_list, describing_sources, expected_answer, is_override, make_plan
from rag.answer.refuse import REFUSAL, refusal_reason
from rag.answer.summary import SummaryAnswerer
from rag.answer.verifier import Support, Verifier, WordOverlapVerifier

__all__ = [
    "REFUSAL", "Answerer", "CitedAnswerer", "Evidence", "GenerativeAnswerer", "ModalAnswerer", "Plan",
    "SummaryAnswerer", "Support", "Verifier", "WordOverlapVerifier", "answer_mode",
    "ambiguous_number", "asks_for_list", "build_prompt", "clean_lead", "describing_sources", "expected_answer",
    "is_override", "make_plan", "refusal_reason", "select_evidence", "stream_answer", "warm_up",
]
