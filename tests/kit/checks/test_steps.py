"""The step checks reject plausible wrong answers with the sentence that says why, and accept
differently written right ones: the raffle (memoized steps), the forecast (retries inside the
step), the quotes (a parallel group)."""

from __future__ import annotations

import functools

import inngest

from learninngest.kit import checks
from learninngest.kit.stack import Stack
from tests.kit.checks.conftest import verdict


def raffle_function(stack: Stack, desk: checks.RaffleDesk, how: str) -> inngest.Function:
    @stack.function(fn_id="ex-raffle", trigger=inngest.TriggerEvent(event="exercise/raffle"), retries=2)
    async def raffle(ctx: inngest.Context) -> str:
        entrants = ctx.event.data["entrants"]
        if how == "outside":  # the handout
            winner = desk.draw(entrants)
        elif how == "result-in-a-step":  # drawn outside, only the result wrapped in a step
            drawn = desk.draw(entrants)
            winner = await ctx.step.run("draw", lambda: drawn)
        elif how == "step":
            winner = await ctx.step.run("draw", desk.draw, entrants)
        else:  # one step draws and announces, returning the winner

            def draw_and_announce() -> str:
                chosen = desk.draw(entrants)
                desk.announce(chosen)
                return chosen

            winner = await ctx.step.run("draw-and-announce", draw_and_announce)
        if how != "together":
            await ctx.step.run("announce", desk.announce, winner)
        await ctx.step.run("ship-prize", desk.ship, winner)
        return winner

    return raffle


def test_replay(stack: Stack) -> None:
    desk = checks.RaffleDesk()
    verdict(
        checks.replay(raffle_function(stack, desk, "outside"), desk), "was drawn 4 times", "outside steps"
    )
    verdict(checks.replay(raffle_function(stack, desk, "result-in-a-step"), desk), r"was drawn [4-9] times")
    assert checks.replay(raffle_function(stack, desk, "step"), desk) == "passed"
    assert checks.replay(raffle_function(stack, desk, "together"), desk) == "passed"


def test_retries(stack: Stack) -> None:
    weather = checks.FlakyWeather()
    trigger = inngest.TriggerEvent(event="exercise/weather")

    @stack.function(fn_id="ex-weather", trigger=trigger, retries=3)
    async def outside(ctx: inngest.Context) -> str:  # the wrong answer: enough retries, wrong place
        report = weather.fetch(ctx.event.data["city"])
        return await ctx.step.run("fetch", lambda: report)

    verdict(checks.retries(outside, weather), r"but step 'fetch' ran 1 time", "outside the step")

    @stack.function(fn_id="ex-weather", trigger=trigger, retries=0)
    async def python_loop(ctx: inngest.Context) -> str:
        def fetch_until_it_answers() -> str:
            while True:
                try:
                    return weather.fetch(ctx.event.data["city"])
                except TimeoutError:
                    continue

        return await ctx.step.run("fetch", fetch_until_it_answers)

    verdict(checks.retries(python_loop, weather), "but step 'fetch' ran 1 time")

    @stack.function(fn_id="ex-weather", trigger=trigger, retries=1)
    async def too_few(ctx: inngest.Context) -> str:
        return await ctx.step.run("fetch", weather.fetch, ctx.event.data["city"])

    verdict(checks.retries(too_few, weather), "your run ended Failed", "retry often enough")

    @stack.function(fn_id="ex-weather", trigger=trigger, retries=3)
    async def solved(ctx: inngest.Context) -> str:
        return await ctx.step.run("fetch", weather.fetch, ctx.event.data["city"])

    assert checks.retries(solved, weather) == "passed"

    @stack.function(fn_id="ex-weather", trigger=trigger, retries=5)
    async def solved_otherwise(ctx: inngest.Context) -> str:
        async def ask() -> str:
            return weather.fetch(ctx.event.data["city"])

        forecast = await ctx.step.run("get-forecast", ask)
        return str(forecast)

    assert checks.retries(solved_otherwise, weather) == "passed"


def test_parallel(stack: Stack) -> None:
    suppliers = checks.Suppliers()
    trigger = inngest.TriggerEvent(event="exercise/quote")

    def cheapest(quotes: list[dict]) -> dict:
        return min(quotes, key=lambda quote: quote["price"])

    @stack.function(fn_id="ex-quotes", trigger=trigger)
    async def one_by_one(ctx: inngest.Context) -> dict:  # the handout
        item = ctx.event.data["item"]
        quotes = [await ctx.step.run(f"quote-{s}", suppliers.quote, s, item) for s in ctx.event.data["shops"]]
        return cheapest(quotes)

    verdict(checks.parallel(one_by_one, suppliers), "ran one after another")

    import asyncio

    @stack.function(fn_id="ex-quotes", trigger=trigger)
    async def gathered(ctx: inngest.Context) -> dict:  # asyncio's way, which Inngest does not see
        item = ctx.event.data["item"]
        asks = [ctx.step.run(f"quote-{s}", suppliers.quote, s, item) for s in ctx.event.data["shops"]]
        return cheapest(list(await asyncio.gather(*asks)))

    verdict(checks.parallel(gathered, suppliers), "ran one after another")

    @stack.function(fn_id="ex-quotes", trigger=trigger)
    async def first_not_cheapest(ctx: inngest.Context) -> dict:
        item = ctx.event.data["item"]
        asks = tuple(
            (lambda s=s: ctx.step.run(f"quote-{s}", suppliers.quote, s, item))
            for s in ctx.event.data["shops"]
        )
        return (await ctx.group.parallel(asks))[0]

    verdict(checks.parallel(first_not_cheapest, suppliers), "expected the cheapest quote")

    @stack.function(fn_id="ex-quotes", trigger=trigger)
    async def solved(ctx: inngest.Context) -> dict:
        item = ctx.event.data["item"]
        asks = tuple(
            (lambda s=s: ctx.step.run(f"quote-{s}", suppliers.quote, s, item))
            for s in ctx.event.data["shops"]
        )
        return cheapest(list(await ctx.group.parallel(asks)))

    assert checks.parallel(solved, suppliers) == "passed"

    @stack.function(fn_id="ex-quotes", trigger=trigger)
    async def solved_with_partials(ctx: inngest.Context) -> dict:
        item, shops = ctx.event.data["item"], ctx.event.data["shops"]
        asks = tuple(
            functools.partial(ctx.step.run, f"ask-{shop}", suppliers.quote, shop, item) for shop in shops
        )
        quotes = await ctx.group.parallel(asks)
        return sorted(quotes, key=lambda quote: quote["price"])[0]

    assert checks.parallel(solved_with_partials, suppliers) == "passed"
