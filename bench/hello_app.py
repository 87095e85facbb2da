"""The bare Litestar baseline for bench/write_contact.py: one plain-text endpoint, nothing else.

Served the same way as the app (uvicorn, one worker, no access log) so that the ratio
app req/s ÷ hello req/s measured in the same run says what the app costs on this machine.
    uvicorn --app-dir bench hello_app:app --port 8001
"""

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def hello() -> str:
    return "hello"


app = Litestar(route_handlers=[hello], openapi_config=None)
