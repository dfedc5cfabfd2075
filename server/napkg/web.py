"""The linked-data web: IRIs that resolve, pages for people, dataset metadata. (Being written: issue 5.)"""
from __future__ import annotations

from fastapi import APIRouter

from .context import Context


def make_router(context: Context) -> APIRouter:
    return APIRouter()
