"""Named dependencies: what a route needs, taken from the app built by create_app().

They are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
thread, and with hundreds of long-polls arriving at once those hops delayed the start
of each handler (and so its deadline) by seconds.
"""

from __future__ import annotations

from typing import Annotated

import inngest
from fastapi import Depends, Request

from learninngest.api.waiters import ResultWaiters
from learninngest.config import Settings
from learninngest.store.base import ResultStore


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _store(request: Request) -> ResultStore:
    return request.app.state.store


async def _inngest(request: Request) -> inngest.Inngest:
    return request.app.state.inngest


async def _waiters(request: Request) -> ResultWaiters:
    return request.app.state.waiters


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[ResultStore, Depends(_store)]
InngestDep = Annotated[inngest.Inngest, Depends(_inngest)]
WaitersDep = Annotated[ResultWaiters, Depends(_waiters)]
