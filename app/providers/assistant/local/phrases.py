"""The local assistant's fixed sentences: pure data, grouped by the answer module that uses them."""

# --- scan_answers ---
NO_SCAN_FOR_SCORES = "I don't have a completed scan for you yet. Take a scan (good light, face the camera) and I can go through your scores."
LOWEST_SCORES_NOTE = "Those are your lowest scores, so they are what your plan focuses on."
NO_SCAN_YET = (
    "You have no completed scan yet. Take one from the Scan tab: good light, no make-up, face the camera."
)
NEED_TWO_SCANS = "I need at least two completed scans to talk about progress. Scan again in about a week, in the same light."
WITHIN_NOISE = "within photo noise"
NO_REAL_CHANGE_YET = (
    "No real change yet: each of these is no larger than two photos of the same face differ by."
)
NOT_COMPARABLE = "no comparison with that scan: the analyser measures it differently since then"
JUDGE_THE_TREND = "Skin changes slowly: judge the trend over several scans, not one."
HOW_TO_RESCAN = "Scan about once a week, at the same time of day, in the same soft light, without makeup, facing the camera. Changes from a routine show after 4-6 weeks, so weekly scans give a trend rather than noise."

# --- plan_answers ---
NO_PLAN_FOR_ROUTINE = "You don't have an active plan yet. Create one from your latest completed scan and I'll walk you through each day."
NO_PLAN_FOR_SCHEDULE = (
    "You don't have an active plan yet, so nothing is scheduled. Create one from your latest scan."
)
NO_PLAN = "You have no active plan. Once you have a completed scan, you can create one: it runs four weeks."
ADVERSE_REACTION_EXCEPTION = "The exception is an adverse reaction: if a product burns, blisters, causes swelling or a rash, note it in today's check-in and create a new plan giving 'adverse reaction' as the reason: a gentler plan replaces this one straight away, even while the plan is locked."
LOCK_OVER = "The lock period is over: you can create a new plan from a fresh scan."

# --- ingredient_answers ---
ASK_FOR_TWO_INGREDIENTS = "Tell me the two ingredients or products you want to combine (for example 'retinol and glycolic acid') and I'll check them against the interaction rules."
CHECK_WITH_DOCTOR = "Check any new product with your doctor or midwife too."
PLAN_PREGNANCY_SAFE = "Nothing in your current plan is marked 'avoid' in pregnancy in our ingredient data."
WHEN_TO_STOP = "Stop the active and keep only cleanser, moisturiser and sunscreen if you get burning that lasts, swelling, blisters or a rash, and record the reaction in today's check-in: an adverse reaction lets you replace the plan even while it is locked."
EARLY_WEEKS_COMMON = "Mild dryness, flaking or tingling in the first weeks is common when actives start."
RETINOID_ADJUSTMENT = "With a retinoid you don't need to stop: use it on fewer nights (drop back to the previous week's number), apply it over moisturiser (buffering), and keep sunscreen every morning. Some 'purging' (small breakouts where you usually break out) can happen in weeks 2-6."
ACID_ADJUSTMENT = "With an exfoliating acid, skip it for a few nights, then go back to fewer nights a week."
SUNSCREEN_BASICS = "Sunscreen is the last step of every morning routine: broad-spectrum SPF 30 or higher, about two finger-lengths for face and neck, reapplied every two hours outdoors."
RETINOID_SUN_NOTE = " Your evening retinoid makes skin more sun-sensitive, so it matters even more."

# --- other_answers ---
CYCLE_WHY = "Breakouts in the week before a period are common: hormone shifts in the second half of the cycle raise oil production, usually along the chin and jawline."
CYCLE_WHAT_HELPS = "What helps: keep your routine steady rather than adding harsh products; a BHA (salicylic acid) or benzoyl peroxide on the chin and jaw in the days before your period; don't pick; and keep moisturising."
CYCLE_NO_DATA = "I don't have any cycle data for you yet, so I can't link your breakouts to your cycle. Logging your period dates (cycle tracking) would let me compare your scans with your cycle phase and tell whether your flare-ups follow it, and when to expect the next one."
CYCLE_SEE_A_DOCTOR = "If breakouts are deep and painful, or come with irregular periods or extra hair growth, a doctor can check for a hormonal cause."
OFF_TOPIC = "Sorry, I can't help with that: I'm DermaLens's skincare assistant, so I only know about skin. Ask me about your scan scores, your routine and plan, ingredients, or side effects."
SEE_A_DOCTOR = "Please see a dermatologist or a doctor about this; I can't assess it from here."
NOT_SURE = "I'm not sure about that one, and I'd rather say so than guess. I can help with your scan scores, your progress, today's routine, your plan and its lock, ingredients and whether they can be combined, side effects, sunscreen and when to scan again."
SKIN_LOG_NONE = "You have no skin logs yet. Log how your skin feels each day (breakouts, dryness, oiliness, sensitivity, radiance) and I can tell you how it has been going, and whether it follows your cycle if you track it."
SKIN_LOG_SELF_RATED = "These are your own ratings (higher means more of it), not scan scores."
SKIN_LOG_SEVERE = "For a severe reaction, stop the active products (keep a gentle cleanser, moisturiser and sunscreen) and see a dermatologist."
