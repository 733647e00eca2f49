"""French (stopwords and the translation example; the question patterns fall back to none)."""

from rag.lang import Language

LANGUAGE = Language(
    code="fr",
    name="French",
    stopwords=frozenset(
        """à au aux avec ce ces cet cette dans de des du elle elles en est et été être eu il ils je la le les
        leur leurs lui ma mais me même mes moi mon ne nos notre nous on ont ou où par pas pour qu que quel
        quelle quelles quels qui sa sans se ses son sont sur ta te tes toi ton tu un une vos votre vous y
        comme comment quand pourquoi aussi plus très tout tous toutes fait faire avait avaient sera selon""".split()
    ),
    translation_example=("Le maire a inauguré hier le nouveau pont du centre-ville.",
                         "The mayor opened the new bridge in the city centre yesterday."),
    summary_request=r"\brésum\w*|\baperçu\b|\bsynthèse\b",
    language_words={
        "fr": ("français", "française"), "en": ("anglais", "anglaise"), "nl": ("néerlandais", "néerlandaise"), "de": ("allemand", "allemande")},
)
