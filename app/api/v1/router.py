"""Every /api/v1 router, in one place."""

from fastapi import APIRouter

from app.api.v1.routes import auth, chat, ingredients, plans, scans, storage

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(scans.router)
api_router.include_router(storage.router)
api_router.include_router(plans.router)
api_router.include_router(ingredients.router)
api_router.include_router(chat.router)
