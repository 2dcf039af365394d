"""The understanding layer's lexicons and phrase tables: pure data, no logic.

Word lists for entities (metrics, face areas, ingredient synonyms and families, words a fuzzy
matcher must not take for ingredients), the time/pregnancy/topic patterns, and the intent rules
in priority order. Edit here to teach the assistant a word; `understanding` and `entities` read it.
"""

# ---- entity lexicons --------------------------------------------------------------------------

METRIC_WORDS: dict[str, tuple[str, ...]] = {
    "acne": (
        "acne",
        "breakout",
        "breakouts",
        "breaking out",
        "break out",
        "broke out",
        "pimple",
        "pimples",
        "spots",
        "zits",
        "zit",
        "blemish",
        "blemishes",
        "whiteheads",
        "cystic",
    ),
    "redness": ("redness", "flushing", "rosacea", "red cheeks", "red patches"),
    "oiliness": ("oily", "oiliness", "shine", "shiny", "greasy", "sebum", "oil control"),
    "hydration": ("hydration", "dry", "dryness", "dehydrated", "tight", "flaky", "hydrated", "moisture"),
    "pores": ("pores", "pore", "blackheads", "blackhead"),
    "wrinkles": ("wrinkles", "wrinkle", "fine lines", "aging", "ageing", "crows feet", "anti aging"),
    "pigmentation": (
        "pigmentation",
        "dark spots",
        "dark spot",
        "hyperpigmentation",
        "melasma",
        "sun spots",
        "acne marks",
        "marks",
        "discoloration",
        "discolouration",
        "pih",
    ),
    "dark_circles": ("dark circles", "under eye", "under-eye", "undereye", "eye bags"),
    "texture": ("texture", "rough", "bumpy", "uneven texture", "smoothness"),
    "evenness": ("evenness", "uneven", "skin tone", "dull", "dullness", "glow"),
}
AREA_WORDS: dict[str, tuple[str, ...]] = {
    "forehead": ("forehead",),
    "cheeks": ("cheek", "cheeks"),
    "nose": ("nose",),
    "chin": ("chin", "jawline", "jaw"),
    "t_zone": ("t-zone", "t zone", "tzone"),
}
# Words people use for an ingredient that the catalog does not list as aliases.
SYNONYMS: dict[str, str] = {
    "bp": "benzoyl_peroxide",
    "bpo": "benzoyl_peroxide",
    "benzoyl": "benzoyl_peroxide",
    "tret": "tretinoin",
    "retin a": "tretinoin",
    "retin-a": "tretinoin",
    "differin": "adapalene",
    "vit c": "l_ascorbic_acid",
    "vitamin c": "l_ascorbic_acid",
    "niacin": "niacinamide",
    "bha": "salicylic_acid",
    "aha": "glycolic_acid",
    "retinoid": "retinol",
    "retinoids": "retinol",
    "accutane": "isotretinoin",
    "isotretinoin": "isotretinoin",
    "hq": "hydroquinone",
    "cica": "centella_asiatica",
    "snail": "snail_secretion_filtrate",
    "azelaic": "azelaic_acid",
    "salicylic": "salicylic_acid",
    "glycolic": "glycolic_acid",
    "hyaluronic": "hyaluronic_acid",
    "tranexamic": "tranexamic_acid",
}
# Generic words for an ingredient family: "my retinoid" means whichever retinoid the plan uses.
GROUP_TERMS: dict[str, str] = {
    "retinoid": "retinoid",
    "retinoids": "retinoid",
    "bha": "bha",
    "aha": "aha",
    "exfoliant": "exfoliating_acid",
    "exfoliation": "exfoliating_acid",
    "exfoliating": "exfoliating_acid",
}
# Not in the topical catalog, but must never be treated as unknown: handled as retinoids.
ORAL_RETINOIDS = {"isotretinoin"}
# Words that look like ingredient names to a fuzzy matcher but are ordinary English.
# fmt: off
NOT_INGREDIENTS = frozenset({
    "acid", "acids", "alcohol", "aloe", "and", "are", "butter", "caffeine", "can", "capb", "citric",
    "coconut", "cream", "day", "edta", "extract", "face", "feeling", "for", "fragrance", "gel",
    "glycerin", "green", "ha", "how", "hpr", "ipm", "jojoba", "laa", "lactic", "lavender", "lemon",
    "lime", "lye", "map", "mi", "mineral", "mit", "my", "night", "oat", "oil", "oils", "omc",
    "orange", "pca", "peeling", "peppermint", "perfume", "pg", "pha", "really", "retain", "retina",
    "retinal", "return", "safe", "same", "sap", "serum", "shea", "sheet", "silicone", "skin",
    "sles", "sls", "sodium", "squalane", "sulfur", "sulphur", "tea", "that", "the", "this", "time",
    "urea", "use", "vitamin", "water", "what", "why", "with", "you"
})
# fmt: on
# fmt: off
TRUSTED_SHORT_NAMES = frozenset({
    "aloe", "caffeine", "glycerin", "jojoba", "lactic", "retinal", "squalane", "sulfur", "sulphur",
    "urea"
})
# fmt: on
# fmt: off
GENERIC_WORDS = frozenset({
    "acetyl", "acid", "alcohol", "alpha", "ap", "ascorbyl", "beta", "butter", "ceramide", "citrus",
    "copper", "crosspolymer", "d", "essential", "ethyl", "extract", "fatty", "flour", "free",
    "fruit", "green", "hydrolyzed", "iron", "juice", "kernel", "l", "leaf", "liquid", "magnesium",
    "np", "ns", "oat", "octyl", "oil", "olive", "palmitoyl", "peel", "powder", "pure", "root", "sd",
    "seed", "sodium", "tea", "titanium", "vitamin", "white", "zinc"
})
# fmt: on

# ---- time of day, pregnancy ---------------------------------------------------------------

PM_WORDS = (
    r"\b(tonight|tonite|2nite|this evening|evening|at night|night time|nighttime|before bed|bedtime|"
    r"pm|p\.m\.|nightly|night routine)\b"
)
# "am" only as a time: "in the am", "am routine", "7am" — never "i am" or "am i".
AM_WORDS = (
    r"\b(this morning|morning|mornings|tomorrow morning|a\.m\.|when i wake up)\b|\b(in the|my|the|for) am\b|"
    r"\bam (routine|steps?|skincare|products?)\b|\b\d{1,2} ?am\b"
)

PREGNANT_WORDS = r"\b(pregnan\w*|pregant\w*|pregnat\w*|pregnent\w*|expecting( a baby)?|with child|\d+ weeks pg|trimester)\b"
BREASTFEEDING_WORDS = (
    r"\b(breast ?feeding|breast-feeding|breastfed|nursing( my baby)?|lactating|chestfeeding|"
    r"pumping|bf(ing)? my baby)\b"
)
TRYING_WORDS = r"\b(ttc|trying to (get pregnant|conceive)|trying for a baby|planning (a|to get) pregnan\w*)\b"
NEGATED_WORDS = r"\b(not|no longer|never been|arent|aren't|isn't|am not|i'm not|im not) (\w+ )?"

# ---- topic and intent rules ------------------------------------------------------------------

PRONOUN_WORDS = (
    r"\b(it|that|this|them|those|these|that one|this one|the stuff|this stuff|that stuff|the same)\b"
)
SKIN_DOMAIN_WORDS = (
    r"\b(skin|face|facial|routine|plan|scan|scans|score|scores|product|products|ingredient|ingredients|serum|"
    r"cream|creams|moisturi[sz]er|moisturi[sz]e|cleanser|toner|spf|sunscreen|sunblock|retino\w*|acid|acne|"
    r"pimple\w*|spots?|zits?|pores?|wrinkles?|derm\w*|rash|itch\w*|peel\w*|breakouts?|mask|exfoliat\w*|"
    r"makeup|make-up|lotion|gel|oil|dry|oily|sensitive|redness|red|flaky|burn\w*|sting\w*|mole|lips?|eyes?|"
    r"period|cycle|hormon\w*|pregnan\w*|breastfeed\w*|cheeks?|forehead|chin|nose|t-zone|apply|applying|"
    r"week|weeks|progress|results?|streak|check-?ins?)\b"
)
OFF_TOPIC_WORDS = (
    r"\b(movies?|films?|netflix|series to watch|tv show|song|music|playlist|stocks?|crypto|bitcoin|invest\w*|"
    r"recipe|cook\w*|dinner|lunch|restaurants?|near me|weather|football|soccer|basketball|nba|game tonight|"
    r"video games?|homework|essay|math|capital of|president|election|politics|joke|poem|code|python|"
    r"javascript|flight|hotel|holiday|vacation plans|car|bus|train times|girlfriend|boyfriend|dating|"
    r"horoscope|lottery|translate|news)\b"
)

# (intent, patterns), highest priority first. The first rule that matches wins; the order
# encodes what matters most when a message touches several topics.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "greeting",
        (
            r"^\s*(hi+|hello+|he+y+|hiya|yo|good (morning|evening|afternoon)|thanks?|thank you|ty|thx|ok|okay|"
            r"cool|great)\b[\s!.?]*$",
        ),
    ),
    (
        # The user's own daily self-ratings (skin logs), before "cycle" and "progress" so that
        # "my skin logs in my luteal phase" is answered from the logs.
        "skin_log",
        (
            r"\b(skin ?logs?|self[- ]?rat\w*|my (skin )?log entr\w*|my logs|(i|i've|i have) logged|"
            r"what did i log|how did i rate)\b",
        ),
    ),
    (
        "last_scan",
        (
            r"\b(last|latest|previous|most recent|recent) (scan|analysis|photo|selfie)\b.*\b(when|date|day)\b",
            r"\bwhen (was|did) (my|i) (last|latest|previous|most recent)? ?(scan|analysis|do a scan|take a scan|scanned)\b",
            r"\b(date|day) of my (last|latest) scan\b",
            r"\b(when|what day|what date|which day)\b.*\b(last|latest|previous|most recent|recent) (scan|analysis)\b",
            r"\bhow long (ago|since) (was )?(my|the) (last )?scan\b",
        ),
    ),
    (
        "rescan",
        (
            r"\b(rescan|re-scan|next scan|another scan|new scan|scan again|how often\b.*\bscan|when should i scan|"
            r"when (do|can|should) i (do|take) (a|my|the) (next )?scan)\b",
        ),
    ),
    (
        "cycle",
        (
            r"\b(period|periods|menstrua\w*|pms|pmdd|time of (the )?month|cycle|ovulat\w*|luteal|"
            r"hormon\w*|on my rag)\b",
        ),
    ),
    (
        "interaction",
        (
            r"\b(together|combine\w*|mix\w*|layer\w*|same time|same night|same routine|at once|in one routine|"
            r"on top of)\b",
            r"\b(with|and|\+|&|after|before|on top of|over)\b.*\?",
            r"\b(use|put|apply|pair)\b.*\b(with|and|\+|&)\b",
        ),
    ),
    (
        "plan",
        (
            r"\b(change|switch|swap|replace|redo|reset|restart|new|different|another|update|edit|modify|cancel|"
            r"stop|quit|end)\b.{0,25}\b(plan|routine|treatment)\b",
            r"\b(get|make|have|want|need) (a )?(new|different|another) (one|plan|routine)\b",
            r"\b(locked?|lock|unlock|days? left|how (many )?(days|weeks)|how long|when (does|will) (my|the) plan|"
            r"plan (end|over|finish)|what week|which week|current week|day \d+)\b",
        ),
    ),
    (
        "side_effects",
        (
            r"\b(purg\w*|irritat\w*|sting\w*|burn\w*|peel\w*|flak\w*|itch\w*|rash|reaction|react\w*|side ?effects?|"
            r"breaking out|broke out|breakout from|redder|sensitive now|tingl\w*|dry patches|raw|sore|hurts?|"
            r"stop using|keep using|should i stop|quit using|too strong|too harsh)\b",
            r"\b(quit|stop|stopping|drop|pause)( using)? (it|this|that|them)\b",
        ),
    ),
    ("plan", (r"\b(my plan|the plan|treatment plan|why this plan|why is my plan)\b",)),
    (
        "schedule",
        (
            r"\b(what|which) (nights?|days?)\b",
            r"\b(when|which (nights?|days?)|what (nights?|days?)|how often|how many (nights|times|days)|what day)\b"
            r".*\b(use|apply|put|do)\b",
            r"\b(is|are) (tonight|today) (a|an|my) \w+ night\b",
            r"\b(retinoid|retinol|exfoliant|acid|adapalene|rest) night\b",
            r"\bwhen (am i|do i|should i)\b.*\b(use|apply)\b",
        ),
    ),
    ("sunscreen", (r"\b(sunscreen|spf|sun cream|suncream|sunblock|uv|sun protection|reapply)\b",)),
    (
        "progress",
        (
            r"\b(progress|improv\w*|getting better|getting worse|better|worse|changed?|trend|compared?|since|"
            r"any difference|working|results so far|gone (up|down))\b",
        ),
    ),
    (
        "adherence",
        (r"\b(streak|adherence|missed|skipp\w*|forgot|check-?ins?|how am i doing|consisten\w*)\b",),
    ),
    (
        "routine",
        (
            r"\b(routine|steps?|regimen|what (should|do|can) i (use|apply|put on|do)|what('?s| is) (on )?(for )?"
            r"(tonight|today|this morning)|order)\b",
            PM_WORDS,
            AM_WORDS,
            r"\btoday\b",
        ),
    ),
    (
        "scores",
        (
            r"\b(score|scores|result|results|analysis|how is my skin|how's my skin|hows my skin|my skin|worst|best|"
            r"rating|doing best|doing worst|strongest|weakest|which part|what part|area|areas)\b",
        ),
    ),
    (
        "ingredient_question",
        (
            r"\b(what is|what's|whats|what does|why|how does|tell me about|explain|good for|is \w+ good|"
            r"benefits?|does .* work|should i (use|try|get)|can i use|safe|worth)\b",
        ),
    ),
)
