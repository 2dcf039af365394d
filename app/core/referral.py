"""Where the app sends someone who should see a dermatologist: the referral flow's entry points.

Shared by the chat's red-flag answers, plan check-ins that report a severe reaction, and
notifications, which all point at the same directory and consultation endpoints.
"""

DERMATOLOGIST_DIRECTORY_PATH = "/api/v1/consultations/dermatologists"
CONSULTATIONS_PATH = "/api/v1/consultations"
