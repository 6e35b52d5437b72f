"""Every case against the local engine, and against a real Dev Server when INNGEST_CLI is set."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

from tests.engine import cases
from tests.engine.harness import TEST_SIGNING_KEY, dev_server, dev_server_cli, local_engine, served

CASES: list[ModuleType] = [
    importlib.import_module(f"tests.engine.cases.{m.name}") for m in pkgutil.iter_modules(cases.__path__)
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.rsplit(".", 1)[-1] for c in CASES])
def test_local_engine(case: ModuleType) -> None:
    signed = getattr(case, "SIGNED", False)
    overrides = dict(getattr(case, "ENGINE", {}))
    if signed:
        overrides.setdefault("signing_key", TEST_SIGNING_KEY)
    # PAUSED_CLOCK: the case moves the engine's time itself (ctx.advance); nothing waits on it.
    paused = getattr(case, "PAUSED_CLOCK", False)
    with (
        local_engine(paused=paused, **overrides) as host,
        served(
            host,
            case.APP_ID,
            case.functions,
            signing_key=TEST_SIGNING_KEY if signed else None,
            serve_options=getattr(case, "SERVE", None),
        ) as ctx,
    ):
        case.check(ctx)


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.rsplit(".", 1)[-1] for c in CASES])
def test_real_dev_server(case: ModuleType) -> None:
    cli = dev_server_cli()
    if cli is None:
        pytest.skip("no real Dev Server: set INNGEST_CLI=/path/to/inngest to run the cases against it")
    if getattr(case, "SIGNED", False) or getattr(case, "ENGINE_ONLY", False):
        pytest.skip("this case needs engine-only settings (signing key / time scale)")
    with (
        dev_server(cli) as host,
        served(host, case.APP_ID, case.functions, serve_options=getattr(case, "SERVE", None)) as ctx,
    ):
        case.check(ctx)
