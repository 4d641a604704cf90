"""Word lists and patterns the question analysis reads: data, kept apart from the logic using it.

What is left here is what a trained reader cannot learn from a question and a passage: that
"Who wrote this?" asks for the byline (not in any paragraph), and which words of a question name
someone, so a person the story never mentions is declined instead of guessed at.
"""

from __future__ import annotations

import re

# "Who wrote this story?", "whose byline is this", "who is it by": answered from the byline.
BYLINE_QUESTION = re.compile(
    r"^\s*(?:who\s+(?:wrote|reported|filed|authored|(?:is|was)\s+(?:the\s+)?(?:author|reporter|writer|"
    r"journalist)(?:\s+(?:of|for|on|behind))?)|whose\s+byline\s+is|what\s+is\s+the\s+byline(?:\s+(?:of|on|for))?|"
    r"who\s+is\s+(?:it|this)\s+by|whose\s+(?:story|article|report|piece)\s+is)"
    r"(?:\s+(?:this|the|it|that))?(?:\s+(?:story|article|report|piece|one))?\s*(?:by)?\s*[?.!]*\s*$",
    re.IGNORECASE,
)

# "What did X say/tell/think ...", "How did X react ...": the question names the speaker X.
SAY_VERBS = (
    r"say|said|says|tell|told|call(?:ed|s)?|think|thought|claim(?:ed|s)?|warn(?:ed|s)?|"
    r"describe(?:d|s)?|add(?:ed|s)?|argue(?:d|s)?|admit(?:ted|s)?|mean(?:t|s)?|reveal(?:ed|s)?|"
    r"suggest(?:ed|s)?|insist(?:ed|s)?|accuse(?:d|s)?|comment(?:ed|s)?|announce(?:d|s)?|"
    r"promise(?:d|s)?|predict(?:ed|s)?|believe(?:d|s)?|feel|felt|urge(?:d|s)?|den(?:y|ied|ies)|"
    r"react(?:ed|s)?|respond(?:ed|s)?|explain(?:ed|s)?"
)
ASKS_WHAT_X_SAID = re.compile(
    rf"^\s*(?:what|how|why)\s+(?:did|does|do|has|had|have|is|was)\s+(?P<name>.+?)\s+(?:{SAY_VERBS})\b",
    re.IGNORECASE,
)

# A capitalised run of words inside the question: a candidate proper name (a lower-case particle
# only as a whole word: "MPs debate" is not "MPs de").
NAME_RUN = re.compile(r"\b([A-Z][\w’'-]+(?:\s+(?:[A-Z][\w’'-]+|(?:de|van|von|der|al)\b))*)")
NOT_NAMES = frozenset({
    "What", "Who", "Which", "When", "Where", "Why", "How", "Did", "Does", "Do", "Is", "Was", "Were",
    "The", "A", "An", "I", "Mr", "Mrs", "Ms", "Dr", "Sir", "In", "On", "Of", "At", "For", "And",
    "Has", "Have", "Had", "Are", "Will", "Would", "Can", "Could", "Should", "Tell", "Give", "List",
})
# Words that begin a description, not a name: "the minister", "a spokesman".
DESCRIPTION_START = re.compile(r"^(?:the|a|an|his|her|its|their|one|some)\s", re.IGNORECASE)
