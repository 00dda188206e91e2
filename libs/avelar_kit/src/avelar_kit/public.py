"""``PUBLIC``: the marker of a route that is public on purpose (the kit's route walk accepts it;
every other route must depend on a guard such as ``get_caller``). Its own module, importing
only FastAPI, so that the health and metrics routers can use it without import cycles."""

from __future__ import annotations

from fastapi import Depends


async def public_route() -> None:
    """Marks a route as public on purpose (the route walk accepts it). ``async``: a sync
    dependency would cost every public request a hop to the thread pool."""


PUBLIC = Depends(public_route)
