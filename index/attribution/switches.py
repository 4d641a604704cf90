"""The measured rules of attribution, each a switch: on where dev/train showed it earns its keep.

Each comment says what the rule does; ``__init__``'s docstring gives what each was worth. The
steps read them (``sentences``, ``syntax``, ``names``, ``coreference``, ``verbs``, ``subjects``,
``indirect``, ``attribution``); a switch turned off restores the reading before that rule.
"""

# Parse the sentence before each quote or speech verb: pronoun antecedents (train right speaker
# 0.841 -> 0.864, dev 0.819 -> 0.842, for 40% more parsed words).
CONTEXT = True
# '- Blackburn boss Mark Hughes: "..."': the subject before a colon (train 0.834 -> 0.864).
COLON = True
# A pronoun's antecedent is the previous sentence's subject when compatible, before a mention of
# known gender in that sentence.
SUBJECT_FIRST = True
MENTIONS_LAST = True
MENTION_WINDOW = 8
# Parse the story's first sentence: the lede names who the story is about.
LEDE = True
# A quote's speech verb beats a speaker carried into its first part.
CHAIN_VERB_FIRST = True
# The subject of a participle is the raised subject or the perceived object of the verb above.
RAISING = True
# A name after a person's role noun is a person, whatever the recogniser's label.
ROLE_NOUN_PERSON = True
# A pronoun never resolves to a person named in the quote it introduces.
QUOTE_NAMES_OTHERS = True
# A person's name is the capitalised tail of the recogniser's span.
NAME_TAIL = True
# "Director of rugby Nigel Melville": a title's "of" phrase ending in a name is the speaker.
TITLE_OF = True
# A backshifted sentence after an indirect quote goes on reporting its speaker.
REPORTED_RUN = True
# "The former commissioner told ...": "former" is part of a role, not a new person.
FORMER_IS_ROLE = True
# "the foreign secretary" finds "Foreign Secretary Jack Straw" in the story's text.
TITLE_IN_TEXT = True
# A name with a "who" clause is a person, whatever the recogniser's label.
WHO_PERSON = True
# A quote right after a sentence about a new person in its paragraph is that person's.
INTRODUCED = True
# "said A and there was B": B's clause, conjoined to the verb, is reported too.
CONJ_CLAUSE = True
# "said the Dome cost taxpayers ...": a noun object and a verb after "say" is a broken clause.
MISPARSED_SAY = True
# "X is confident (that) ..." reports X's view, as "X believes" does.
STANCE = True
# Of two subjects the parse gave a verb, the one next to it speaks.
NEAREST_SUBJECT = True
# "X who said": the person right before "who".
WHO_NEXT = True
# "midfielder Edu": a proper noun in apposition to a role noun is a person.
ROLE_APPOS = True
# "the prime minister's office" is that office, not the last organisation named.
OWNED_BODY = True
# The body a document is addressed to is not a speaker ("a statement to the Stock Exchange").
ADDRESSEE = True
# "The director is X": X is the sentence's subject for the pronouns after it.
COPULA_NAME = True
# "the group" is the unnamed "group of MPs" met before, if nearer than any body.
SAME_HEAD = True
# "X's statement said": X speaks.
OWNER_SPEAKS = True
# "S, X has warned.": the whole of S is reported.
INVERTED_REPORT = True
# "S, he said, and T": T is reported too.
PARENTHETICAL_CONJ = True
# A date or place after a preposition is never a subject the parse misplaced.
NOT_OBJECT = True
# "the firm" resolves only to a body the sentences before were about.
SALIENT_BODY = True
SALIENT_WINDOW = 5
