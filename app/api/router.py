"""Every /api/v1 router, in one place: each domain owns its router."""

from fastapi import APIRouter

from app.api import storage
from app.auth import router as auth
from app.chat import router as chat
from app.consultations import router as consultations
from app.cycles import router as cycles
from app.ingredients import router as ingredients
from app.insights import router as insights
from app.journal import router as journal
from app.notifications import router as notifications
from app.plans import router as plans
from app.preferences import router as preferences
from app.scans import router as scans
from app.skin_logs import router as skin_logs
from app.statistics import router as statistics

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(scans.router)
api_router.include_router(storage.router)
api_router.include_router(plans.router)
api_router.include_router(ingredients.router)
api_router.include_router(chat.router)
api_router.include_router(preferences.router)
api_router.include_router(statistics.router)
api_router.include_router(notifications.router)
api_router.include_router(skin_logs.router)
api_router.include_router(journal.router)
api_router.include_router(cycles.router)
api_router.include_router(insights.router)
api_router.include_router(consultations.router)
