"""Safety rules every assistant answer goes through, whatever the provider.

Runs before anything else: a red-flag screen over the user's message (a symptom lexicon,
written per category with a level: emergency, urgent, prompt) and pregnancy/breastfeeding
cautions taken from the ingredient data. A red flag is answered here, by this module, with
what to do now and who to see: no provider gets to talk it down. The lexicon is deliberately
careful in both directions: a missed red flag is the worst answer this product can give, and
a false alarm on ordinary acne or dryness teaches users to ignore the warnings.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from app.core.referral import DERMATOLOGIST_DIRECTORY_PATH
from app.routine_engine import catalog

NOT_MEDICAL_ADVICE = (
    "_DermaLens gives general skincare information, not medical advice; "
    "a dermatologist can examine your skin._"
)
MAX_ANSWER_CHARS = 4000
SAFETY_HEADER = "**Please read this first.**"

Level = Literal["emergency", "urgent", "prompt"]

_EMERGENCY_NUMBER = "call emergency services now (911 in the US, 112 in Europe, 999 in the UK)"
_ITCH_HANDS_FEET = (
    r"\b(itch\w*)\b.{0,40}\b(palms?|soles?|hands?|feet|foot)\b",
    r"\b(palms?|soles?|hands?|feet|foot)\b.{0,40}\b(itch\w*)\b",
)


@dataclass(frozen=True)
class RedFlag:
    category: str
    level: Level
    patterns: tuple[str, ...]
    advice: str
    # Patterns that, when present, mean the message is the ordinary case, not the red flag.
    unless: tuple[str, ...] = field(default=())
    needs_pregnancy: bool = False


RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag(
        "self_harm",
        "emergency",
        (
            r"\b(kill(ing)? myself|suicid\w*|end (my life|it all)|want(ed)? to die|wanna die|wish i (was|were) dead|"
            r"better off dead|self[- ]?harm\w*|hurt(ing)? myself|harm(ing)? myself|cut(ting)? myself)\b",
            r"\b(no point (in )?(living|going on)|not worth living|(don'?t|do not) want to (live|be alive|be here))\b",
            r"\bcan'?t go on\b",
        ),
        "I'm really sorry you're feeling this way, and I'm glad you said it. Please reach out now to "
        "someone you trust or a crisis line: in the US call or text 988, in the UK call 116 123 "
        "(Samaritans), elsewhere your local emergency number or findahelpline.com. If you might act on "
        "these thoughts, " + _EMERGENCY_NUMBER + ". A doctor can help with both your skin and how you feel.",
    ),
    RedFlag(
        "anaphylaxis",
        "emergency",
        (
            r"\b(hard|difficult|trouble|difficulty|struggling|can'?t|cannot|cant) (to )?(breath\w*)\b",
            r"\b(short(ness)? of breath|wheez\w*|throat (is |feels )?(closing|tight\w*|swell\w*|swollen)|"
            r"tongue.{0,15}(swell\w*|swollen)|swollen (tongue|throat)|anaphyla\w*|epipen)\b",
            r"\b(hives|welts)\b.{0,60}\b(breath\w*|throat|dizzy|faint\w*)\b",
        ),
        "Trouble breathing, a tight throat or a swelling tongue can be a severe allergic reaction "
        "(anaphylaxis): " + _EMERGENCY_NUMBER + ", use an adrenaline auto-injector if you have one, and "
        "do not apply the product again.",
    ),
    RedFlag(
        "facial_swelling",
        "urgent",
        (
            r"\b(face|eyes?|eyelids?|lips?|cheeks?|whole face)\b.{0,30}\b(swell\w*|swollen|puff(ed|y|ing) (up|shut)|"
            r"blown up|blew up|blowing up|ballooned|can'?t open)\b",
            r"\b(swell\w*|swollen|puffed up)\b.{0,30}\b(face|eyes?|eyelids?|lips?|mouth)\b",
            r"\b(swelling|swollen)\b.{0,30}\b(spread\w*|getting bigger|worse)\b",
            r"\bspreading swelling\b",
        ),
        "Swelling of the face, eyes or lips after a product is an allergic reaction: wash the product "
        "off, do not reapply it, and see a doctor or urgent care today. If your breathing, throat or "
        "tongue are affected, " + _EMERGENCY_NUMBER + ".",
    ),
    RedFlag(
        "hives",
        "urgent",
        (r"\b(hives|urticaria|welts)\b",),
        "Hives (raised, itchy welts) are an allergic reaction: stop every new product, take a "
        "non-drowsy antihistamine if you can safely use one, and see a doctor or urgent care today. "
        "If you have any trouble breathing, swallowing, or your lips or tongue swell, "
        + _EMERGENCY_NUMBER
        + ".",
    ),
    RedFlag(
        "infection",
        "urgent",
        (
            r"\b(fever|feverish|chills|temperature of)\b",
            r"\b(spread\w*)\b.{0,30}\b(red|redness|rash|swelling|streaks?)\b",
            r"\b(red|redness|rash)\b.{0,30}\b(spread\w*|streaks?|tracking)\b",
            r"\b(red streaks?|hot to (the )?touch|warm to (the )?touch)\b",
            r"\b(swollen|red|painful) and (hot|warm)\b|\b(hot|warm) and (swollen|red|painful)\b",
            r"\b(abscess\w*|boils?|cellulitis|impetigo|infected|infection|honey[- ]colou?red crust\w*|"
            r"yellow crust\w*)\b",
            r"\b(oozing|weeping)\b",
            r"\bpus\b",
        ),
        "Spreading redness, heat, swelling, pus or a fever can mean a skin infection: see a doctor or "
        "urgent care today (antibiotics may be needed), and do not squeeze it or cover it with "
        "actives. Go to emergency care if you feel very unwell or the redness spreads fast.",
        # A single pimple's pus with no other sign of infection is ordinary acne.
        unless=(
            r"^(?!.*\b(fever|spread\w*|hot|warm|swollen|streak\w*|oozing|weeping|infect\w*|abscess|boil|"
            r"cellulitis|impetigo|crust\w*|lots of|won'?t stop)\b).*\b(pimples?|whiteheads?|zits?|spots?)\b.*\bpus\b|"
            r"^(?!.*\b(fever|spread\w*|hot|warm|swollen|streak\w*|oozing|weeping|infect\w*|abscess|boil|"
            r"cellulitis|impetigo|crust\w*|lots of|won'?t stop)\b).*\bpus\b.*\b(pimples?|whiteheads?|zits?|spots?)\b",
        ),
    ),
    RedFlag(
        "changing_mole",
        "urgent",
        (
            r"\bmoles?\b.{0,60}\b(bleed\w*|bled|chang\w*|grow\w*|grew|bigger|larger|itch\w*|irregular|dark(er|ening)|"
            r"new|crust\w*|scab\w*|raised|different colou?rs?|blurry edges?|uneven edges?|spread\w*)\b",
            r"\b(bleed\w*|bled|chang\w*|grow\w*|new|itchy|irregular)\b.{0,40}\bmoles?\b",
            r"\bmelanoma\b|\bskin cancer\b",
            r"\b(freckle|birthmark|dark spot|black spot|brown spot|growth|lesion)\b.{0,40}\b(bleed\w*|bled|"
            r"grow\w*|chang\w*|getting bigger|irregular)\b",
        ),
        "A mole or spot that bleeds, changes, grows, itches or looks irregular needs to be checked "
        "by a dermatologist soon: book an appointment within the next couple of weeks (sooner if it "
        "bleeds or changes fast) rather than treating it at home, and keep actives off it.",
        unless=(r"\b(popped|picked|squeezed|pick(ed)? at)\b.{0,30}\b(spot|pimple|zit)\b",),
    ),
    RedFlag(
        "non_healing_sore",
        "urgent",
        (
            r"\b(sores?|spots?|scabs?|wounds?|lesions?|bumps?|cuts?|patch|patches|ulcers?|crusty spot)\b.{0,60}"
            r"\b(won'?t|wont|doesn'?t|doesnt|does not|hasn'?t|hasnt|has not|not|never|didn'?t|didnt|isn'?t)"
            r"( \w+)? (heal\w*|go(ne)? away|clear\w*)\b",
            r"\b(sores?|scabs?|lesions?|bumps?|spots?)\b.{0,50}\bkeeps? (bleeding|coming back|"
            r"reopening|opening|crusting|scabbing)\b",
            r"\b(sores?|scabs?|lesions?|ulcers?)\b.{0,60}\b(\d+|few|several|many|couple( of)?) (weeks|months)\b",
            r"\b(non[- ]?healing|never heals|won'?t heal|not healing)\b",
        ),
        "A sore or spot that has not healed in about three weeks, or keeps bleeding, crusting or "
        "coming back in the same place, should be examined by a dermatologist or your doctor: please "
        "book an appointment in the next week or two. Most are harmless, but some skin cancers look "
        "exactly like this, and only an examination can tell.",
    ),
    RedFlag(
        "severe_burn",
        "urgent",
        (
            r"\b(blister\w*|chemical burn\w*|burn(ed|t) my (face|skin)|raw (skin|patches|and)|skin (is )?raw|"
            r"(peeling|coming) off in (sheets|chunks)|open sores?|skin came off)\b",
            r"\b(severe\w*|intense\w*|unbearabl\w*|extreme\w*|really bad|very bad|horribl\w*|excruciating)\b.{0,25}"
            r"\b(burn\w*|sting\w*|pain\w*|reaction|rash)\b",
            r"\b(burn\w*|sting\w*)\b.{0,30}\b(won'?t stop|wont stop|for hours|all day|badly|unbearabl\w*|like fire)\b",
        ),
        "Stop every active product now and rinse with cool water; keep only a gentle cleanser, a plain "
        "moisturiser or petrolatum, and sunscreen. Blistering, raw skin or severe burning should be "
        "seen by a dermatologist or urgent care within a day, and report it as an adverse reaction in "
        "your plan check-in so a gentler plan can replace this one.",
    ),
    RedFlag(
        "eye_injury",
        "urgent",
        (
            r"\b(blurr(y|ed) vision|can'?t see( properly)?|vision (is )?(blurr\w*|weird|chang\w*)|lost (my )?vision)\b",
            r"\b(got|get|went|splashed)\b.{0,30}\b(in|into) my eyes?\b.{0,40}\b(burn\w*|sting\w*|pain\w*|red|hurts?)\b",
        ),
        "Rinse the eye with clean lukewarm water for 15 minutes, and get care today (an eye "
        "casualty, urgent care or emergency) if the pain, redness or blurred vision do not settle.",
    ),
    RedFlag(
        "scarring_cysts",
        "prompt",
        (
            r"\b(cysts?|cystic|nodules?|nodular)\b.{0,60}\b(scar\w*|pain\w*|hurt\w*|deep|sore|under the skin|huge)\b",
            r"\b(painful|deep|huge|hard|sore|underground|under the skin)\b.{0,30}\b(cysts?|cystic|nodules?|lumps?)\b",
            r"\b(acne|pimples?|breakouts?|spots)\b.{0,40}\b(leav\w*|left|caus\w*) (me )?(with )?(pitted |deep )?scars?\b",
        ),
        "Deep, painful cysts or acne that leaves scars is more than a skincare routine can treat: "
        "please book a dermatologist appointment in the next few weeks. Prescription treatments "
        "work well and treating early is what prevents permanent scars. Until then, don't squeeze "
        "them, and a warm compress can ease the pain.",
    ),
    RedFlag(
        "pregnancy_itch",
        "prompt",
        _ITCH_HANDS_FEET,
        "Itching of the palms or soles in pregnancy, especially worse at night, can be a sign of a liver "
        "condition of pregnancy (intrahepatic cholestasis) that needs a blood test: contact your "
        "midwife, obstetrician or doctor within a day, not at your next routine visit. Don't treat it "
        "as a skincare side effect.",
        needs_pregnancy=True,
    ),
)

_PREGNANCY_WORDS = re.compile(r"\b(pregnan\w*|pregant\w*|pregnat\w*|pregnent\w*|expecting|trimester)\b")
_COMPILED = tuple(
    (
        flag,
        tuple(re.compile(p) for p in flag.patterns),
        tuple(re.compile(p) for p in flag.unless),
    )
    for flag in RED_FLAGS
)
# C0/C1 controls except tab and newline, plus bidi overrides that can disguise text.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _screen_text(message: str) -> str:
    text = unicodedata.normalize("NFKC", message).replace("\u2019", "'").lower()
    return " ".join(text.split())


def red_flags(message: str, *, pregnant: bool = False) -> list[RedFlag]:
    """The red-flag categories a message touches, most serious first."""
    text = _screen_text(message)
    pregnant = pregnant or bool(_PREGNANCY_WORDS.search(text))
    found = []
    for flag, patterns, unless in _COMPILED:
        if flag.needs_pregnancy and not pregnant:
            continue
        if any(p.search(text) for p in patterns) and not any(u.search(text) for u in unless):
            found.append(flag)
    return found


def flag_by_category(category: str) -> RedFlag:
    """The red flag with this category name."""
    return next(f for f in RED_FLAGS if f.category == category)


_PRODUCT_REACTIONS = {"anaphylaxis", "facial_swelling", "hives", "severe_burn", "eye_injury"}

# Red flags a dermatologist should see: the answer also points to the referral flow (the
# directory, and a report of the user's own scans, plan and reactions to send them). Not
# added under an emergency: that answer must say one thing only.
REFERRAL_CATEGORIES = frozenset(
    {
        "changing_mole",
        "non_healing_sore",
        "scarring_cysts",
        "severe_burn",
        "infection",
        "facial_swelling",
        "hives",
    }
)
REFERRAL_LINE = (
    "To find a dermatologist and send them a report of your scans, plan and reactions, open "
    f"Consultations in the app ({DERMATOLOGIST_DIRECTORY_PATH})."
)


def needs_referral(flags: list[RedFlag]) -> bool:
    """Whether a red-flag answer points to the dermatologist referral flow."""
    return (
        bool(flags)
        and flags[0].level != "emergency"
        and any(f.category in REFERRAL_CATEGORIES for f in flags)
    )


def safety_answer(flags: list[RedFlag], *, extra: list[str] | None = None) -> str:
    """The whole answer to a message with a red flag: what to do now and who to see."""
    lines = [f"{SAFETY_HEADER} {flags[0].advice}", *(f.advice for f in flags[1:]), *(extra or [])]
    if any(f.category in _PRODUCT_REACTIONS for f in flags):
        lines.append(
            "Once you've been seen, I can help you restart gently: your plan can be replaced after an "
            "adverse reaction even while it is locked."
        )
    if needs_referral(flags):
        lines.append(REFERRAL_LINE)
    return "\n\n".join(lines)


# ---- pregnancy and breastfeeding ------------------------------------------------------------------

ORAL_RETINOID_CAUTION = (
    "Pregnancy and breastfeeding: isotretinoin (Accutane) is an oral retinoid that causes birth "
    "defects; it must not be taken when pregnant, trying to conceive or breastfeeding. Talk to your "
    "prescriber now if you are taking it."
)


def pregnancy_cautions(slugs: list[str], *, state: str | None) -> list[str]:
    """One caution per named ingredient the ingredient data marks as 'avoid' or 'caution'."""
    who = {
        "breastfeeding": "while breastfeeding",
        "trying": "while trying to conceive",
    }.get(state or "", "during pregnancy or breastfeeding")
    lines = []
    for slug in slugs:
        if slug == "isotretinoin":
            lines.append(ORAL_RETINOID_CAUTION)
            continue
        ingredient = catalog.get(slug=slug)
        if ingredient is None or ingredient.pregnancy == "safe":
            continue
        note = ingredient.pregnancy_note or "ask your doctor or midwife"
        if ingredient.pregnancy == "avoid":
            kind = "a retinoid" if "retinoid" in ingredient.groups else "an ingredient to avoid"
            lines.append(f"No: {ingredient.name} is {kind}, not to be used {who}. {note}")
        else:
            lines.append(f"Caution {who}: {ingredient.name}. {note}")
    return lines


def caution_preamble(lines: list[str]) -> str:
    """Pregnancy cautions above any provider's answer."""
    return "\n".join(lines) + "\n\n" if lines else ""


# ---- output hygiene -------------------------------------------------------------------------------


def clean_output(text: str) -> str:
    """Model output is untrusted text: no control characters, bounded length."""
    text = clean_piece(unicodedata.normalize("NFKC", text)).strip()
    if len(text) > MAX_ANSWER_CHARS:
        text = text[: MAX_ANSWER_CHARS - 1].rstrip() + "…"
    return text


def clean_piece(piece: str) -> str:
    """Control and bidi characters removed, CRLF made LF; nothing else touched, so pieces join exactly."""
    return _UNSAFE_CHARS.sub("", piece.replace("\r\n", "\n"))


def closing_note(flags: list[RedFlag], body: str, *, medical_topic: bool = True) -> str:
    """The "not medical advice" line, when the topic calls for it and it is not there yet."""
    if (flags or medical_topic) and NOT_MEDICAL_ADVICE not in body:
        return f"\n\n{NOT_MEDICAL_ADVICE}"
    return ""


def finalize(answer: str, flags: list[RedFlag], *, medical_topic: bool, preamble: str = "") -> str:
    """Preamble (pregnancy cautions) + the cleaned answer + the note where relevant."""
    body = clean_output(answer)
    if preamble and preamble.strip() in body:
        preamble = ""
    return preamble + body + closing_note(flags, body, medical_topic=medical_topic)
