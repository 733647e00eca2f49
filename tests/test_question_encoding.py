"""A question is encoded once per encoder: one English call, one multilingual call holding the question and its
words (for the word lexicon), whatever the answer path asks of them afterwards; asked again, no call at all.

The real encoders run on the session's real index (its Dutch article makes the multilingual side run), wrapped
to record every call that carries the question or one of its words.
"""

from __future__ import annotations

from contextlib import ExitStack
from unittest import mock

from rag import Assistant, Settings
from rag.retrieval.lexicon import encode_multilingual, question_words
from rag.retrieval.retrieve import encode_question

QUESTION = "Which machines did the miners ship to Kazakhstan after the crackdown?"


class EncoderCalls:
    """The texts of each call of both raw encoders that carry the question or one of its words."""

    def __init__(self, assistant: Assistant):
        self.index = assistant.index
        self.words = set(question_words(QUESTION))
        self.english: list[list[str]] = []
        self.multilingual: list[list[str]] = []
        self._stack = ExitStack()

    def __enter__(self) -> EncoderCalls:
        for encoder, calls in ((self.index.encoder.encoder, self.english),
                               (self.index.multilingual_encoder.encoder, self.multilingual)):
            self._stack.enter_context(mock.patch.object(encoder, "encode", side_effect=self._record(encoder.encode, calls)))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _record(self, real, calls: list[list[str]]):
        def encode(texts, *args, **kwargs):
            texts = list(texts)
            if QUESTION in texts or self.words & set(texts):
                calls.append(texts)
            return real(texts, *args, **kwargs)
        return encode


def test_a_question_costs_each_encoder_one_call(built_home):
    assistant = Assistant(Settings(home=built_home, generator="none"))
    assert assistant.index.multilingual_vectors()[0].size  # the library has non-English text: both encoders work
    assert assistant.index.lexicon().words  # its words are encoded once per generation, not per question
    encode_question.cache_clear()
    encode_multilingual.cache_clear()
    with EncoderCalls(assistant) as calls:
        answer = assistant.ask(QUESTION)
    assert answer.citations, answer.reason
    assert calls.english == [[QUESTION]]
    assert calls.multilingual == [[QUESTION, *question_words(QUESTION)]]  # the lexicon's words in the same batch
    with EncoderCalls(assistant) as again:
        assistant.ask(QUESTION)
    assert again.english == again.multilingual == []  # a retry reuses both encodings
    assistant.close()
