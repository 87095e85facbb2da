"""What a request remembers: a lookup asked once per request, never carried to the next one."""

import asyncio

from app.request_context import RequestMeta, current_request, remembered


def test_a_lookup_is_asked_once_a_request_and_again_in_the_next():
    asked = []

    async def grids():
        asked.append(1)
        return frozenset({len(asked)})

    async def request() -> list:
        current_request.set(RequestMeta(request_id="r", lookups={}))
        return [await remembered(("grids", 7), grids) for _ in range(3)]

    assert asyncio.run(request()) == [frozenset({1})] * 3
    assert asyncio.run(request()) == [frozenset({2})] * 3  # a new request asks again
    assert len(asked) == 2


def test_outside_a_request_nothing_is_remembered():
    asked = []

    async def grids():
        asked.append(1)
        return frozenset()

    async def script() -> None:
        for _ in range(3):
            await remembered(("grids", 7), grids)

    asyncio.run(script())
    assert len(asked) == 3
