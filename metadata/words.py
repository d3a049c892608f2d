"""Word lists shared by the lexicon builders and the concept matcher."""

# Short forms with several common readings in captions (MS: multiple sclerosis or mass
# spectrometry; PE: pulmonary embolism or pleural effusion; SEM: microscopy or standard
# error of the mean ...) and English words written in capitals.
AMBIGUOUS_SHORT_FORMS = frozenset(
    """AS AT BE BY DO GO HE IF IN IS IT ME MY NO OF ON OR SO TO UP WE ALL AND ANY ARE BUT
    CAN FOR HAS HAD HER HIS MAY NOT ONE OUR SHE THE WAS WHO ACE AD AF AP BM CA CI CP CR CS
    DC DM ED EP ER GA HD HR IA ID IR IV LA LV MA MD MM MR MS NA NS OD OS PA PC PD PE PR PS
    PT RA RV SA SC SD SE SM SP SR ST TA TS VS ARM BAR CAT CAP HIP MAP SEM TEM RED
    CELL CHIP GAP TAG""".split()
)
# two-letter short forms that are unambiguous enough in figure captions ("US" is the
# radiology short form for ultrasound; the pronoun is only capitalised in all-caps text)
TWO_LETTER_ALLOWED = frozenset({"CT", "US", "EM", "MI", "GI"})
# whole-word terms never matched on their own (function words and near-function words)
STOPWORDS = frozenset(
    """a an the in on at as is was be it of to and or with for by from that this these those
    all no not can may are were has had have its into per via than then there their which
    who whom what when where how both each other some such only also very more most less
    one two three four five six seven eight nine ten left figure fig
    case cases patient patients""".split()
)
