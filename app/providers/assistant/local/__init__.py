"""The offline assistant: answers the structured request from the user's own data.

What the message asks is worked out by `understanding` (shared with Gemini); red flags and
pregnancy cautions are handled by `safety` before this provider is asked. No canned
paragraphs about the user: every answer is assembled from the context (scores, deltas, areas,
today's routine, the weekly schedule, plan lock, adherence) and from the ingredient database
and conflict rules. When a question is outside what it knows, it says so plainly.

One module per group of intents (scan_answers, plan_answers, ingredient_answers, other_answers),
shared helpers in `common`, the intent-to-answer table in `provider`.
"""

from app.providers.assistant.local.provider import HANDLERS, LocalChatProvider, request_of

__all__ = ["HANDLERS", "LocalChatProvider", "request_of"]
