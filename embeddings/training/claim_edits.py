"""Rule-made rewrites of one sentence, each labelled by construction (FactCC-style).

A rewrite either keeps the sentence's meaning (a paraphrase the verifier must
accept) or changes one fact (an edit it must catch). Every function takes the
sentence (and the other sentences of its document, where a swap needs a rival
name) plus a ``random.Random`` and returns the new claim, or ``None`` when the
sentence offers nothing to rewrite. Word tables are written here, general
English, never read off an evaluation set.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

SUPPORTED, CONTRADICTED, NOT_FOUND = 0, 1, 2
LABELS = ("supported", "contradicted", "not_found")

# Meaning-keeping word swaps (both directions are used).
SYNONYMS = [
    ("use", "employ"), ("uses", "employs"), ("used", "employed"), ("big", "large"), ("small", "little"),
    ("begin", "start"), ("began", "started"), ("buy", "purchase"), ("bought", "purchased"), ("help", "assist"),
    ("show", "display"), ("shows", "displays"), ("quick", "fast"), ("quickly", "rapidly"), ("need", "require"),
    ("needed", "required"), ("obtain", "acquire"), ("allow", "permit"),
    ("allows", "permits"), ("allowed", "permitted"), ("change", "modify"), ("changes", "modifies"),
    ("changed", "modified"), ("make", "create"), ("makes", "creates"), ("made", "created"), ("end", "finish"),
    ("ended", "finished"), ("choose", "select"), ("chose", "selected"), ("give", "provide"), ("gives", "provides"),
    ("gave", "provided"), ("tries", "attempts"), ("tried", "attempted"), ("firm", "company"),
    ("companies", "firms"), ("about", "roughly"), ("almost", "nearly"), ("enough", "sufficient"),
    ("often", "frequently"), ("maybe", "perhaps"), ("very", "highly"), ("main", "principal"), ("whole", "entire"),
    ("mistake", "error"), ("mistakes", "errors"), ("rule", "regulation"),
    ("rules", "regulations"), ("country", "nation"), ("countries", "nations"), ("price", "cost"),
    ("prices", "costs"), ("cheap", "inexpensive"), ("hard", "difficult"), ("easy", "simple"),
    ("important", "significant"), ("enormous", "huge"), ("also", "additionally"), ("however", "nevertheless"),
    ("near", "close to"), ("plan", "intend"),
    ("plans", "intends"), ("planned", "intended"), ("say", "state"), ("says", "states"), ("said", "stated"),
    ("look for", "search for"), ("find out", "discover"), ("set up", "configure"),
    ("turn off", "disable"), ("turn on", "enable"), ("keep", "retain"), ("keeps", "retains"), ("kept", "retained"),
    ("move", "relocate"), ("moved", "relocated"), ("moving", "relocating"), ("stop", "halt"),
    ("stopped", "halted"), ("shut down", "closed"), ("grow", "expand"), ("grew", "expanded"),
    ("growth", "expansion"), ("rise", "increase"), ("rose", "increased"), ("fall", "decline"),
    ("fell", "declined"), ("way", "manner"), ("ways", "methods"), ("file", "document"), ("option", "setting"),
    ("options", "settings"), ("program", "application"), ("programs", "applications"), ("machine", "computer"),
    ("machines", "computers"), ("mostly", "largely"), ("every", "each"),
]
# Meaning-flipping swaps: antonyms and quantifiers.
ANTONYMS = [
    ("increase", "decrease"), ("increased", "decreased"), ("more", "less"), ("more", "fewer"),
    ("higher", "lower"), ("larger", "smaller"), ("large", "small"), ("before", "after"), ("first", "last"),
    ("always", "never"), ("all", "no"), ("every", "no"), ("many", "few"), ("most", "few"), ("enable", "disable"),
    ("enabled", "disabled"), ("allow", "forbid"), ("allows", "forbids"), ("allowed", "forbidden"),
    ("include", "exclude"), ("includes", "excludes"), ("included", "excluded"), ("add", "remove"),
    ("adds", "removes"), ("added", "removed"), ("start", "stop"), ("starts", "stops"), ("open", "closed"),
    ("true", "false"), ("maximum", "minimum"), ("easier", "harder"), ("faster", "slower"), ("rise", "fall"),
    ("rose", "fell"), ("gain", "lose"), ("win", "lose"), ("accept", "reject"), ("accepted", "rejected"),
    ("success", "failure"), ("cheap", "expensive"), ("legal", "illegal"), ("required", "optional"),
    ("inside", "outside"), ("upper", "lower"), ("beginning", "end"), ("old", "new"), ("older", "newer"),
    ("local", "remote"), ("public", "private"), ("strong", "weak"), ("early", "late"), ("support", "oppose"),
    ("supports", "opposes"), ("north", "south"), ("east", "west"), ("import", "export"), ("buy", "sell"),
]
ROLES = ["founder", "CEO", "president", "director", "chairman", "professor", "minister", "spokesman",
         "analyst", "manager", "editor", "engineer", "economist", "researcher", "vice president", "reporter",
         "maintainer", "author", "administrator", "developer", "user", "owner"]
UNITS = [("kilograms", "tonnes"), ("kilometres", "miles"), ("megawatts", "kilowatts"),
         ("seconds", "minutes"), ("minutes", "hours"), ("hours", "days"), ("days", "weeks"), ("weeks", "months"),
         ("months", "years"), ("bytes", "kilobytes"), ("kilobytes", "megabytes"), ("megabytes", "gigabytes"),
         ("dollars", "euros"), ("yuan", "dollars"), ("characters", "lines"), ("lines", "pages"),
         ("second", "minute"), ("minute", "hour"), ("hour", "day"), ("day", "week"), ("byte", "kilobyte"),
         ("milliseconds", "seconds"), ("microseconds", "milliseconds"), ("KB", "MB"), ("MB", "GB"),
         ("kilobyte", "megabyte"), ("bits", "bytes"), ("percent", "points"), ("metres", "kilometres")]
# Who acts on whom: a pair of these in one sentence can be exchanged (the subject does the object's part).
ACTORS = ["client", "server", "browser", "proxy", "user", "administrator", "parent", "child", "sender",
          "recipient", "source", "destination", "caller", "kernel", "module", "daemon", "process", "buyer",
          "seller", "company", "government", "bank", "customer", "supplier", "request", "response", "host",
          "backend", "frontend", "master", "worker", "file", "directory", "script", "program", "editor"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty"]
AUXILIARIES = ["is", "are", "was", "were", "can", "will", "should", "does", "do", "did", "has", "have", "had",
               "must", "may", "could", "would"]
COMMON_OPENERS = {"The", "A", "An", "This", "It", "You", "We", "They", "He", "She", "There", "These", "Those",
                  "Some", "Many", "Most", "Each", "Every", "Your", "Our", "Its", "Their", "His", "Her", "In", "On"}
ORDINARY = {"for", "however", "then", "also", "such", "as", "if", "when", "since", "because", "although", "while",
            "other", "many", "most", "all", "both", "only", "to", "by", "with", "at", "from", "after", "before",
            "once", "unless", "so", "but", "and", "or", "one", "no", "not", "any", "what", "which", "who", "where",
            "how", "why", "that", "those", "these", "here", "instead", "otherwise", "thus", "therefore", "note"}
REPORTING = ["said", "says", "told", "added", "explained", "noted", "argued", "claimed", "wrote", "warned"]
OPENERS = ["However, ", "For example, ", "In addition, ", "Also, ", "Therefore, ", "Of course, ", "In fact, ",
           "Note that ", "Thus, ", "Moreover, ", "Still, ", "Instead, "]
# Invented details: a reason, a place, a time or an amount that the evidence never gives.
DETAILS = [
    " because of {a} {b}", " in {place}", " since {year}", " for the {n}th time", " after {n} {unit}",
    " under pressure from {a} {b}", " at a cost of {n} million {money}", " within {n} {unit}",
    " on behalf of {place}", " with the help of {a} {b}", " to save {n} percent",
]
PLACES = ["Norway", "Brazil", "Ohio", "Kenya", "Portugal", "Tasmania", "Quebec", "Vietnam", "Bavaria",
          "Chile", "Iceland", "Morocco", "Texas", "Finland", "Peru", "Scotland"]
DETAIL_A = ["a new", "an old", "the regional", "a foreign", "the national", "a private", "a local"]
DETAIL_B = ["regulator", "consortium", "agreement", "investor", "study", "court ruling", "bank", "union",
            "committee", "partner", "shortage"]
PASSIVE = re.compile(r"^(?P<subj>(?:The |A |An )?[\w-]+(?: [\w-]+)?) (?P<aux>is|was|are|were) "
                     r"(?P<verb>\w+ed) by (?P<agent>(?:the |a |an )?[\w-]+(?: [\w-]+)?)(?P<rest>[^,;]*)\.$")
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w])")
YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+)*)\b")


def _word_swap(text: str, pairs: Sequence[tuple[str, str]], rng: random.Random, both: bool = True) -> str | None:
    """Swap one word of ``pairs`` (whole words, case kept on the first letter)."""
    options = []
    for a, b in pairs:
        for src, dst in ((a, b), (b, a)) if both else ((a, b),):
            for m in re.finditer(rf"\b{re.escape(src)}\b", text, flags=re.IGNORECASE):
                options.append((m.start(), m.end(), dst))
    if not options:
        return None
    start, end, dst = rng.choice(options)
    if text[start].isupper():
        dst = dst[0].upper() + dst[1:]
    return text[:start] + dst + text[end:]


def names_in(text: str) -> list[str]:
    """Capitalised words and runs of them that are not the first word of the sentence."""
    skip = set(MONTHS) | set(WEEKDAYS) | {"I", "The", "This", "That", "If", "It", "In", "On", "For", "When"}
    return [m.group(1) for m in NAME.finditer(text) if m.group(1) not in skip and m.start() > 0]


def lowered(text: str) -> str:
    """``text`` with its first word in lower case when that word is an ordinary one ("The", "It")."""
    first = text.split(" ", 1)[0].rstrip(",")
    ordinary = first in COMMON_OPENERS or (first[1:].islower() and first.lower() in ORDINARY)
    return text[0].lower() + text[1:] if ordinary else text


# -- supported ----------------------------------------------------------------------------------------------


def reorder_clauses(text: str, rng: random.Random) -> str | None:
    """"If A, B." -> "B if A." and back; the same clauses in the other order."""
    m = re.match(r"^(If|When|Although|Because|While|Since|Unless|After|Before|Once) ([^,]{6,}), (.{6,})\.$", text)
    if m:
        main = m.group(3)
        return f"{main[0].upper()}{main[1:]} {m.group(1).lower()} {m.group(2)}."
    m = re.match(r"^(.{6,}?),? (if|when|because|although|while|since|unless|after|before|once) ([^,]{6,})\.$", text)
    if m and m.group(1)[0].isupper():
        return f"{m.group(2).capitalize()} {m.group(3)}, {lowered(m.group(1))}."
    return None


def delete_phrase(text: str, rng: random.Random) -> str | None:
    """Drop a bracketed aside, a comma-delimited aside, an opener or an adverb: the rest still holds."""
    options = []
    for m in re.finditer(r" \([^()]{2,80}\)", text):
        options.append(text[:m.start()] + text[m.end():])
    for m in re.finditer(r", (?:which|who|where|for example|such as|including|like|as)[^,]{3,80},", text):
        options.append(text[:m.start()] + " " + text[m.end():].lstrip())
    for opener in OPENERS:
        if text.startswith(opener) and len(text) > len(opener) + 10:
            rest = text[len(opener):]
            options.append(rest[0].upper() + rest[1:])
    for m in re.finditer(r" (\w{4,}ly)\b", text):
        if m.group(1).lower() not in {"only", "early", "family", "reply", "supply", "apply", "italy", "july"}:
            options.append(text[:m.start()] + text[m.end():])
    options = [o for o in options if o != text and len(o.split()) >= 5]
    return rng.choice(options) if options else None


def synonym_swap(text: str, rng: random.Random) -> str | None:
    """One or two words replaced by a synonym."""
    once = _word_swap(text, SYNONYMS, rng)
    twice = _word_swap(once, SYNONYMS, rng) if once and rng.random() < 0.5 else None
    return twice if twice and twice != text else once


def reattribute(text: str, rng: random.Random) -> str | None:
    """"X said Y." / "Y, X said." -> "According to X, Y." (and the reverse)."""
    verbs = "|".join(REPORTING)
    m = re.match(rf"^(?P<who>[A-Z][\w .'-]{{1,60}}?) (?:{verbs}) (?:that )?(?P<what>[^\"“”]{{10,}})\.$", text)
    if m:
        what = m.group("what")
        return f"According to {m.group('who')}, {what}."
    m = re.match(rf"^[\"“]?(?P<what>[^\"“”]{{10,}}?),?[\"”]? (?P<who>[A-Z][\w .'-]{{1,60}}?) (?:{verbs})\.$", text)
    if m:
        return f"According to {m.group('who')}, {m.group('what').rstrip(',')}."
    m = re.match(r"^According to (?P<who>[^,]{2,60}), (?P<what>.{10,})\.$", text)
    if m:
        return f"{m.group('who')[0].upper()}{m.group('who')[1:]} said that {m.group('what')}."
    return None


def passive_to_active(text: str, rng: random.Random) -> str | None:
    """"The file is read by the server at start." -> "The server reads ... at start" (past tense kept)."""
    m = PASSIVE.match(text)
    if not m:
        return None
    agent = m.group("agent")
    agent = agent[0].upper() + agent[1:]
    subject = m.group("subj")
    subject = subject[0].lower() + subject[1:] if subject.split()[0] in ("The", "A", "An") else subject
    verb = m.group("verb") if m.group("aux") in ("was", "were") else m.group("verb")[:-2] + "es"
    return f"{agent} {verb} {subject}{m.group('rest')}."


def join_sentences(first: str, second: str, rng: random.Random) -> str | None:
    """Two adjacent sentences as one: "A, and b." or "A; b."."""
    if not first.endswith(".") or len(first) + len(second) > 320:
        return None
    opener = next((o for o in OPENERS if second.startswith(o)), "")
    tail = lowered(second[len(opener):])
    glue = rng.choice([", and ", "; ", ", while "])
    return first[:-1] + glue + tail


# -- contradicted -------------------------------------------------------------------------------------------


def change_number(text: str, rng: random.Random) -> str | None:
    """A number (not a year) or a number word replaced by a different one."""
    found = [m for m in NUMBER.finditer(text) if not YEAR.fullmatch(m.group(1))]
    if found:
        m = rng.choice(found)
        raw = m.group(1)
        value = float(raw.replace(",", ""))
        factor = rng.choice([2, 3, 10, 0.5, 0.1, 1.5])
        new = value * factor if value > 2 else value + rng.choice([1, 2, 5, 7])
        digits = len(raw.split(".")[1]) if "." in raw else 0
        shown = f"{new:,.{digits}f}" if "," in raw else f"{new:.{digits}f}"
        if shown == raw:
            return None
        return text[:m.start()] + shown + text[m.end():]
    words = [w for w in NUMBER_WORDS if re.search(rf"\b{w}\b", text, flags=re.IGNORECASE)]
    if not words:
        return None
    word = rng.choice(words)
    other = rng.choice([w for w in NUMBER_WORDS if w != word])
    return re.sub(rf"\b{word}\b", other, text, count=1, flags=re.IGNORECASE)


def change_unit(text: str, rng: random.Random) -> str | None:
    """The unit after a number swapped for another one of the same kind; failing that, a unit named
    without a number ("a timeout in seconds")."""
    pairs = rng.sample(UNITS, len(UNITS))
    for a, b in pairs:
        for src, dst in ((a, b), (b, a)):
            m = re.search(rf"(\d)\s?{re.escape(src)}\b" if src != "%" else r"(\d)%", text)
            if m:
                return text[:m.start()] + m.group(1) + (" " if dst != "%" else "") + dst + text[m.end():]
    for a, b in pairs:
        for src, dst in ((a, b), (b, a)):
            m = re.search(rf"\b(?:in|of|per|a|one|the|few|several|many|number of|\w+ty|two|ten) {re.escape(src)}\b", text)
            if m:
                return text[:m.end() - len(src)] + dst + text[m.end():]
    return None


def change_date(text: str, rng: random.Random) -> str | None:
    """A year, month or weekday replaced by another."""
    years = list(YEAR.finditer(text))
    if years:
        m = rng.choice(years)
        year = int(m.group(1)) + rng.choice([-5, -3, -2, -1, 1, 2, 4])
        return text[:m.start()] + str(year) + text[m.end():]
    for table in (MONTHS, WEEKDAYS):
        present = [w for w in table if re.search(rf"\b{w}\b", text)]
        if present:
            word = rng.choice(present)
            return re.sub(rf"\b{word}\b", rng.choice([w for w in table if w != word]), text, count=1)
    return None


def swap_name(text: str, others: Sequence[str], rng: random.Random) -> str | None:
    """A name replaced by another name of the same document that this sentence does not mention."""
    mine = names_in(text)
    rivals = sorted({n for s in others for n in names_in(s)} - set(mine))
    rivals = [r for r in rivals if r.lower() not in text.lower()]
    if not mine or not rivals:
        return None
    name = rng.choice(mine)
    return re.sub(rf"\b{re.escape(name)}\b", rng.choice(rivals), text, count=1)


def flip_negation(text: str, rng: random.Random) -> str | None:
    """Remove a negation, or add one after the first auxiliary."""
    for pattern, repl in ((r"\b(\w+) not\b", r"\1"), (r"\bcannot\b", "can"), (r"n't\b", ""),
                          (r"\bnever\b", "always"), (r"\bno longer\b", "still")):
        if re.search(pattern, text) and rng.random() < 0.9:
            out = re.sub(pattern, repl, text, count=1)
            return out if out != text else None
    aux = [m for m in re.finditer(rf"\b({'|'.join(AUXILIARIES)})\b", text)]
    if aux:
        m = aux[0]
        return text[:m.end()] + " not" + text[m.end():]
    m = re.search(r"(?<=[a-z] )([a-z]{2,}[td]ed)\b", text)  # "founded", "started": the base form is certain
    if m:
        return text[:m.start()] + f"did not {m.group(1)[:-2]}" + text[m.end():]
    return None


def swap_speaker(text: str, others: Sequence[str], rng: random.Random) -> str | None:
    """The person a statement is attributed to replaced by another person of the document."""
    verbs = "|".join(REPORTING + ["according to"])
    m = re.search(rf"(?:(?:{verbs}) (?P<a>[A-Z]\w+(?: [A-Z]\w+)*)|(?P<b>[A-Z]\w+(?: [A-Z]\w+)*) (?:{verbs}))", text)
    if not m:
        return None
    who = m.group("a") or m.group("b")
    rivals = sorted({n for s in others for n in names_in(s) if " " in n or len(n) > 3} - {who})
    rivals = [r for r in rivals if r.lower() not in text.lower()]
    if not rivals:
        return None
    return text.replace(who, rng.choice(rivals), 1)


CODE_NAME = re.compile(r"(?<![\w./-])((?:mod_|\.)?[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+|[a-z]+[0-9]+[a-z]*)(?![\w/-])")


def code_names_in(text: str) -> list[str]:
    """Lower-case technical names: ``mod_rewrite``, ``httpd.conf``, ``ext4`` (not ordinary words)."""
    return [m.group(1) for m in CODE_NAME.finditer(text) if not re.fullmatch(r"(e\.g|i\.e|etc)\.?", m.group(1))]


def swap_code_name(text: str, others: Sequence[str], rng: random.Random) -> str | None:
    """A technical name replaced by another one of the document (the neighbouring sentences first)."""
    mine = code_names_in(text)
    if not mine:
        return None
    for pool in (others[:4], others):  # ``others`` starts with the neighbours (see ``Maker.contradicted``)
        rivals = sorted({n for s in pool for n in code_names_in(s)} - set(mine))
        if rivals:
            name = rng.choice(mine)
            return re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w])", rng.choice(rivals), text, count=1)
    return None


def swap_actors(text: str, rng: random.Random) -> str | None:
    """Two actors of one sentence exchanged: who does what to whom is reversed ("the client sends the
    server ..." -> "the server sends the client ..."); every word stays, only the roles move."""
    found = [(m.start(), m.end(), m.group(0)) for m in re.finditer(
        rf"\b(?:{'|'.join(ACTORS)})s?\b", text, flags=re.IGNORECASE)]
    names = set(names_in(text)) - COMMON_OPENERS
    found += [(m.start(1), m.end(1), m.group(1)) for m in NAME.finditer(text) if m.group(1) in names]
    found.sort()
    pairs = [(a, b) for i, a in enumerate(found) for b in found[i + 1:]  # two words apart at least
             if a[2].lower().rstrip("s") != b[2].lower().rstrip("s") and len(text[a[1]:b[0]].split()) >= 2]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    first, second = b[2], a[2]
    if a[2][0].isupper() and not first[0].isupper() and a[0] == 0:
        first = first[0].upper() + first[1:]
    return text[:a[0]] + first + text[a[1]:b[0]] + second + text[b[1]:]


def swap_role(text: str, rng: random.Random) -> str | None:
    """A job title or role replaced by another one."""
    present = [r for r in ROLES if re.search(rf"\b{re.escape(r)}\b", text, flags=re.IGNORECASE)]
    if not present:
        return None
    role = rng.choice(present)
    return re.sub(rf"\b{re.escape(role)}\b", rng.choice([r for r in ROLES if r != role]), text, count=1,
                  flags=re.IGNORECASE)


def flip_antonym(text: str, rng: random.Random) -> str | None:
    """A word replaced by its opposite, or a quantifier by its reverse."""
    return _word_swap(text, ANTONYMS, rng)


# -- not found ----------------------------------------------------------------------------------------------


def main_clause(text: str, rng: random.Random) -> str | None:
    """The sentence cut after its main clause: a shorter claim that still holds ("A, and B." -> "A.")."""
    m = re.search(r"^(.{25,}?)(?:, (?:and|but|so|which|as well as)\b|,? (?:while|whereas|because|although)\b"
                  r"|;| - | \()", text)
    if not m or len(m.group(1).split()) < 6 or m.end() > len(text) - 12 or reorder_clauses(text, rng) \
            or m.group(1).count("(") != m.group(1).count(")"):
        return None  # "If A, B." cut inside its condition would say something else
    return m.group(1).rstrip(",: ") + "."


def add_detail(text: str, rng: random.Random) -> str | None:
    """An invented reason, place, time or amount appended to the main clause."""
    if not text.endswith(".") or len(text) < 30:
        return None
    detail = rng.choice(DETAILS).format(
        a=rng.choice(DETAIL_A), b=rng.choice(DETAIL_B), place=rng.choice(PLACES), year=rng.randint(1990, 2020),
        n=rng.randint(3, 90), unit=rng.choice(["days", "weeks", "months", "hours"]),
        money=rng.choice(["dollars", "euros"]))
    if any(w.lower() in text.lower() for w in detail.split() if len(w) > 4):
        return None
    return text[:-1] + detail + "."


SUPPORTING = {"reorder": reorder_clauses, "deletion": delete_phrase, "synonym": synonym_swap,
              "attribution_form": reattribute, "active_passive": passive_to_active, "main_clause": main_clause}
CONTRADICTING = {"number": change_number, "unit": change_unit, "date": change_date, "negation": flip_negation,
                 "role": swap_role, "antonym": flip_antonym, "actors": swap_actors}
CONTRADICTING_IN_DOCUMENT = {"name": swap_name, "attribution": swap_speaker, "code_name": swap_code_name}
