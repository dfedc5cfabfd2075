"""The query catalogue as a REST API: /api/queries. (Being written: see issue 4.)"""
from __future__ import annotations

from fastapi import APIRouter

from .context import Context


def make_router(context: Context) -> APIRouter:
    return APIRouter()
