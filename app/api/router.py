"""Every /api/v1 router, in one place: each domain owns its router."""

from fastapi import APIRouter

from app.api import storage
from app.auth import router as auth
from app.chat import router as chat
from app.consultations import router as consultations
from app.ingredients import router as ingredients
from app.plans import router as plans
from app.scans import router as scans

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(scans.router)
api_router.include_router(storage.router)
api_router.include_router(plans.router)
api_router.include_router(ingredients.router)
api_router.include_router(chat.router)
api_router.include_router(consultations.router)
