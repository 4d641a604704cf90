"""The word lists attribution uses, one row per rule, kept apart from the code that uses them.

Each table says what it is for; the steps (``marks``, ``entities``, ``attribution`` and its
sub-steps, ``speakers``) import them. A row stays only while dev shows it earns its keep.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- speech verbs ---------------------------------------------------------------------------
# lemma: (surface forms, reports speech: its clause becomes an indirect quote)
SPEECH_VERBS: dict[str, tuple[str, bool]] = {
    "say": ("say says said saying", True),
    "tell": ("tell tells told telling", True),
    "add": ("add adds added adding", True),
    "claim": ("claim claims claimed claiming", True),
    "warn": ("warn warns warned warning", True),
    "argue": ("argue argues argued arguing", True),
    "explain": ("explain explains explained explaining", True),
    "insist": ("insist insists insisted insisting", True),
    "stress": ("stress stresses stressed stressing", True),
    "deny": ("deny denies denied denying", True),
    "admit": ("admit admits admitted admitting", True),
    "reveal": ("reveal reveals revealed revealing", True),
    "suggest": ("suggest suggests suggested suggesting", True),
    "state": ("state states stated stating", True),
    "declare": ("declare declares declared declaring", True),
    "announce": ("announce announces announced announcing", True),
    "comment": ("comment comments commented commenting", False),
    "remark": ("remark remarks remarked remarking", True),
    "reply": ("reply replies replied replying", True),
    "respond": ("respond responds responded responding", False),
    "accuse": ("accuse accuses accused accusing", False),
    "urge": ("urge urges urged urging", False),
    "describe": ("describe describes described describing", False),
    "confirm": ("confirm confirms confirmed confirming", True),
    "acknowledge": ("acknowledge acknowledges acknowledged acknowledging", True),
    "predict": ("predict predicts predicted predicting", True),
    "note": ("note notes noted noting", True),
    "write": ("write writes wrote writing", True),
    "recall": ("recall recalls recalled recalling", True),
    "concede": ("concede concedes conceded conceding", True),
    "ask": ("ask asks asked asking", False),
    "complain": ("complain complains complained complaining", True),
    "pledge": ("pledge pledges pledged pledging", True),
    "promise": ("promise promises promised promising", True),
    "vow": ("vow vows vowed vowing", True),
    "boast": ("boast boasts boasted boasting", True),
    "joke": ("joke jokes joked joking", True),
    "maintain": ("maintain maintains maintained maintaining", True),
    "conclude": ("conclude concludes concluded concluding", True),
    "believe": ("believe believes believed", True),
    "think": ("think thinks thought", True),
    "point": ("points pointed pointing", True),  # "pointed out that"
    "caution": ("caution cautions cautioned cautioning", True),
    "observe": ("observe observes observed observing", True),
    "call": ("call calls called calling", False),  # "called it ...", "called for ..."
    "brand": ("brand brands branded branding", False),
    "dismiss": ("dismiss dismisses dismissed dismissing", False),
    "criticise": ("criticise criticises criticised criticising", False),
    "praise": ("praise praises praised praising", False),
    "hail": ("hail hails hailed hailing", False),
    "slam": ("slam slams slammed slamming", False),
    "label": ("label labels labelled labelling", False),
    "quote": ("quoted", False),  # "X was quoted as saying"
    "agree": ("agree agrees agreed agreeing", True),
    "indicate": ("indicate indicates indicated indicating", True),
    "report": ("report reports reported reporting", True),
    "estimate": ("estimate estimates estimated", True),
    "forecast": ("forecast forecasts forecasting", True),
    "expect": ("expect expects expected", True),
    "hope": ("hope hopes hoped", True),
    "fear": ("fear fears feared", True),
    "feel": ("feel feels felt", True),
    "reckon": ("reckon reckons reckoned", True),
    "accept": ("accept accepts accepted", True),
    "allege": ("allege alleges alleged", True),
    "assert": ("assert asserts asserted", True),
    "emphasise": ("emphasise emphasises emphasised", True),
    "question": ("questioned", False),
    "recommend": ("recommend recommends recommended recommending", True),
    "reassure": ("reassure reassures reassured reassuring", True),
    "snap": ("snapped", True),
    "repeat": ("repeat repeats repeated repeating", True),
    "find": ("found finds", True),  # "the survey found": only its clause, never a quote's speaker
    "demand": ("demand demands demanded demanding", True),
}
SPEECH_FORMS: frozenset[str] = frozenset(f for forms, _ in SPEECH_VERBS.values() for f in forms.split())
REPORTING_LEMMAS: frozenset[str] = frozenset(k for k, (_, rep) in SPEECH_VERBS.items() if rep)
# Verbs whose reported content is an infinitive: "X urged Y to ...", "X pledged to ...".
INFINITIVE_LEMMAS: frozenset[str] = _words("urge call ask tell pledge promise vow warn demand agree")
# Adjectives of stance whose clause reports the subject's view ("X is confident (that) ...").
STANCE_ADJECTIVES: frozenset[str] = _words("confident adamant convinced sure certain optimistic "
                                           "hopeful pessimistic adamant unconvinced positive")
# Forms of "be" and "remain" that carry a stance adjective ("X is confident that").
COPULAS: frozenset[str] = _words("is are was were am be been remain remains remained")
# Verbs of charge or praise whose object and gerund report what was said ("accused ministers of
# turning Britain into a dumpsite").
CHARGE_LEMMAS: frozenset[str] = _words("accuse criticise praise blame condemn attack")
# Verbs whose object is the subject of the participle after it ("the film showed Mr X telling
# the meeting", "cameras caught him saying"): any other verb's participle is its subject's
# ("he criticised the plan, saying ...").
PERCEPTION_LEMMAS: frozenset[str] = _words(
    "show showed shows showing shown see saw seen sees seeing hear heard hears hearing catch "
    "caught film filmed record recorded capture captured depict depicted depicts picture pictured")

# --- who can speak --------------------------------------------------------------------------
# spaCy entity label: the kind of speaker it names (places, works, dates never speak).
SPEAKER_LABELS: dict[str, str] = {
    "PERSON": "person",
    "ORG": "organisation",
    "NORP": "group",  # "Conservatives", "Democrats"
}
# Labels of a proper name before "spokesman" that make it the body spoken for ("a Tesco
# spokesman", "the Trafford Centre spokeswoman": the recogniser calls some centres places).
PROXY_LABELS: frozenset[str] = frozenset({"ORG", "NORP", "GPE", "FAC"})
# Places that speak for an institution ("Downing Street said"): metonymy, one row each.
SPEAKING_PLACES: frozenset[str] = frozenset({
    "Downing Street", "Whitehall", "Scotland Yard", "the White House", "White House",
    "the Kremlin", "Kremlin", "Number 10", "No 10", "the Pentagon", "Pentagon", "Brussels",
    "Washington", "Westminster", "Holyrood", "Stormont", "the Foreign Office",
})
# Outlets a speaker talks TO ("told BBC Radio Five Live", "the Sun newspaper"): never speakers.
OUTLET_WORDS: frozenset[str] = _words("bbc itv cnn reuters newspaper radio magazine programme tv")
# "the Daily Mail", "The Sunday Times": a paper's name is a first word and a last word from these.
PAPER_FIRST: frozenset[str] = _words("the daily sunday evening financial new")
PAPER_LAST: frozenset[str] = _words("times telegraph guardian mail mirror sun express post herald independent observer "
    "standard record star journal tribune chronicle gazette")

# --- titles, honorifics, gender -----------------------------------------------------------------
HONORIFICS: frozenset[str] = _words("Mr Mrs Ms Miss Mx Dr Prof Professor Rev Reverend")
KEEP_TITLES: frozenset[str] = _words("Sir Dame Lord Lady Baroness Baron")
MALE_WORDS: frozenset[str] = _words(
    "Mr Sir Lord Baron King Prince husband father son brother boyfriend grandfather uncle "
    "he him his himself man")
FEMALE_WORDS: frozenset[str] = _words(
    "Mrs Ms Miss Dame Lady Baroness Queen Princess wife mother daughter sister girlfriend "
    "grandmother aunt she her herself woman")
# First names that tell the gender; unisex ones (Lee, Alex, Chris, Sam, Kim ...) are left out.
MALE_NAMES: frozenset[str] = _words(
    "adam adrian alan alexander alistair andrew andy anthony arsene barry ben benjamin bill bob "
    "boris brian bruce carl charles charlie christopher colin craig dan daniel danny darren dave "
    "david dean dennis derek dominic don donald douglas duncan ed eddie edward eric frank fred "
    "gary gavin geoff geoffrey george gerry gordon graham greg harry henry hugh iain ian jack jake "
    "james jason jeff jeffrey jeremy jim jimmy joe john jon jonathan jose keith ken kenneth kevin "
    "larry len leo liam luke malcolm mark martin matt matthew max michael mick mike neil nick "
    "nicholas nigel noel oliver omar ozzy patrick paul pete peter phil philip ralph ray richard "
    "rick rob robert roger ron ronald roy russell ryan samuel scott sean simon stephen steve "
    "steven stuart ted theo thomas tim timothy tom tommy tony trevor vince vincent wayne william "
    "menzies ruud sven thierry alastair rafael roberto gerard steven alex jacques gianluca "
    "lleyton andre roger rafa jonny clive brian gareth rhys dafydd ieuan alun hywel mohammed "
    "muhammad ahmed ali hussain pierre carlos juan luis jean claude francois gerhard silvio "
    "vladimir george dick kofi jaap romano jack wilfried sepp")
FEMALE_NAMES: frozenset[str] = _words(
    "alice alison amanda amy andrea angela ann anna anne annie barbara beth betty carol caroline "
    "catherine charlotte cheryl christine claire clare diana diane donna elaine eleanor elizabeth "
    "ellen emily emma fiona gemma georgia gillian hannah harriet hazel helen holly jacqueline "
    "jane janet jennifer jenny jessica jill joan joanna julia julie karen kate katherine kathryn "
    "laura lauren linda lisa liz lorraine louise lucy lynn madeleine margaret maria marie mary "
    "maureen melanie michelle nancy natalie nicola nicole olivia pamela patricia paula penny "
    "rachel rebecca rose ruth sally samantha sandra sarah sharon shami sheila shirley sophie "
    "stephanie sue susan tessa theresa tracey valerie victoria wendy yvette zoe condoleezza "
    "hillary serena venus kelly paula tessa britney kylie madonna oprah hazel estelle patricia "
    "ruth tanni denise jo kelly") - {"kelly"}

# Lower-case words inside a name ("Ruud van Nistelrooy"): not the end of a role before it.
NAME_PARTICLES: frozenset[str] = _words("de da di del della der den van von le la du dos das bin al "
                                        "el ben ter")
# Capitalised words that stand before a surname without being a first name.
NOT_FIRST_NAMES: frozenset[str] = _words(
    "the a an but and so yet if when while as at in on for from by with after before since "
    "said says told added according meanwhile however also then now this that these those "
    "boss coach manager striker captain skipper chief former new")

# --- descriptions -------------------------------------------------------------------------------
# Head nouns of descriptions that stand for an organisation ("the firm said").
ORG_HEADS: frozenset[str] = _words(
    "company firm group regulator watchdog government ministry department agency body council "
    "commission committee authority authorities union charity trust association party club "
    "team side bank airline carrier operator retailer maker manufacturer giant network "
    "broadcaster channel chain insurer lender supermarket store publisher studio label "
    "organisation organization institute university school hospital police force service "
    "federation society campaign foundation court board league executive corporation "
    "think-tank tank office studio website")
# Head nouns of descriptions of a group of people ("officials said", "campaigners warned").
GROUP_HEADS: frozenset[str] = _words(
    "officials sources campaigners critics analysts experts economists residents police "
    "investigators ministers mps leaders executives organisers organizers researchers "
    "scientists doctors teachers unions parents fans players protesters observers "
    "prosecutors lawyers judges members insiders aides diplomats")
# Spokes-nouns: "a spokesman for X" speaks for X; the speaker is X (role: the noun).
PROXY_NOUNS: frozenset[str] = _words("spokesman spokeswoman spokesperson spokespeople representative representatives "
    "source sources statement insider insiders")
# Nouns that may head a person's description ("the minister", "the Arsenal boss").
PERSON_HEADS: frozenset[str] = _words(
    "minister secretary chancellor boss chief head manager coach captain player director "
    "president chairman chairwoman chair executive leader spokesman spokeswoman spokesperson "
    "official mp mep msp star singer actor actress writer author judge lawyer solicitor "
    "barrister prosecutor detective inspector officer superintendent constable sergeant "
    "commissioner governor mayor premier king queen prince princess founder owner "
    "analyst economist expert father mother son daughter wife husband brother sister "
    "teenager man woman boy girl striker midfielder defender goalkeeper winger forward "
    "manager champion runner athlete driver rider boxer golfer bowler batsman chef doctor "
    "nurse teacher headteacher principal professor scientist researcher campaigner activist "
    "chairperson envoy ambassador diplomat adviser advisor aide producer director presenter "
    "host comedian musician rapper guitarist drummer frontman veteran candidate leader "
    "victim witness resident spokesperson former")
# Person nouns that relate their "of" phrase to someone else ("the father of X", "a friend of
# X"): not titles, so X is not the speaker ("director of rugby X" is X).
RELATIONAL_HEADS: frozenset[str] = _words(
    "father mother son daughter wife husband brother sister friend lawyer solicitor barrister "
    "spokesman spokeswoman spokesperson aide adviser advisor victim witness family relative "
    "colleague partner fan agent biographer widow parent")
# Words that make a title another one ("shadow home secretary", "deputy prime minister").
TITLE_MODIFIERS: frozenset[str] = _words("shadow deputy vice former acting assistant junior "
                                         "ex interim outgoing")
# Documents that speak for the body that wrote them ("the report said"): the last organisation.
DOCUMENT_HEADS: frozenset[str] = _words("report statement letter study survey document "
                                           "paper website filing")
# Entity labels that are never a speaker, even as the subject of "said".
NEVER_SPEAK: frozenset[str] = _words("GPE LOC DATE TIME MONEY PERCENT QUANTITY ORDINAL "
                                        "CARDINAL LANGUAGE LAW")
# A pronoun's kind: who it can refer to.
PRONOUNS: dict[str, str] = {
    "he": "m", "him": "m", "she": "f", "her": "f", "it": "org", "they": "plural",
    "we": "plural", "i": "self",
}
# A speech verb's pronoun subject and who it resolves to: a person of that gender, a body
# ("it"), a body or group ("they", "we"), the last speaker ("I").
SUBJECT_PRONOUNS: dict[str, str] = {"he": "m", "she": "f", "it": "it", "they": "they", "we": "they",
                                    "i": "self"}

# Capitalised titles and ranks before a name: the role, not the name ("Det Ch Supt Caroline Haines").
RANKS: frozenset[str] = _words("Det Ch Supt Insp Sgt PC DC DS DI DCI PCSO Detective Inspector Superintendent Chief "
    "Constable Sergeant Commander Commissioner Cllr Councillor Judge Justice Captain Capt Col "
    "Colonel Gen General Lt Lieutenant President Senator Governor Director Chairman Chairwoman "
    "Secretary Minister MP MEP MSP Chancellor Leader Mayor Editor Manager Coach Executive Officer "
    "Spokesman Spokeswoman Ambassador Prime Premier Analyst Solicitor Barrister Bishop Archbishop "
    "Pope Prince Princess King Queen Dean Principal Headteacher Magistrate Coroner Sheriff "
    "Foreign Home Health Education Defence Culture Environment Trade Transport Shadow Deputy "
    "Lib Dem Labour Tory Conservative Liberal Democrat Republican Democratic Senior Vice Boss "
    "Striker Midfielder Defender Goalkeeper Skipper Former Ex Chelsea Secretary-General "
    "Attorney Commons Lords Party Chief-Executive")
