"""The Jinja environment: gettext, locale formatting, static URLs, navigation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from types import FunctionType
from zoneinfo import ZoneInfo

from jinja2 import Environment
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine as Engine
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape

from app import i18n, offline
from app.domain import calls, phone
from app.domain.roles import ROLES
from app.routes.nav import nav_items
from app.routes.paging import page_url
from app.static_files import static_url

TEMPLATE_DIR = Path(__file__).parent / "templates"


def cn_date(value: datetime, tz: str, year_only: bool = False) -> str:
    """2026年11月29日 in the configured time zone: official documents are written so."""
    local = value.astimezone(ZoneInfo(tz))
    return str(local.year) if year_only else f"{local.year}年{local.month}月{local.day}日"


# A page says _() some 35 times: each of the app's messages (those in the default locale's
# catalogue, a bounded set: never text from data) has its escaped text made once per locale.
_MARKED: dict[tuple[str, str], Markup] = {}


def _gettext(message: str, **variables: object) -> Markup:
    """Jinja's newstyle gettext (the text is HTML-escaped Markup, every value escaped into it),
    without its two context calls per message."""
    variables = {**getattr(message, "variables", {}), **variables}
    if variables:
        return Markup(i18n.catalogue(i18n.get_locale()).get(message, message)) % variables
    marked = (i18n.get_locale(), message)
    found = _MARKED.get(marked)
    if found is None:
        found = Markup(i18n.catalogue(marked[0]).get(message, message)) % {}
        if message in i18n.catalogue(i18n.DEFAULT_LOCALE):
            _MARKED[marked] = found
    return found


def _pgettext(context: str, message: str, **variables: object) -> Markup:
    return Markup(i18n.catalogue(i18n.get_locale()).get(i18n.key(message, context), message)) % variables


def _ngettext(singular: str, plural: str, n: int, **variables: object) -> Markup:
    return _gettext(singular if n == 1 else plural, num=n, **variables)


_DICT_ATTRIBUTES = frozenset(dir(dict))


def _getattr(env: Environment, obj: object, attribute: str) -> object:
    """`row.name` as Jinja reads it (an attribute first, then an item), with rows (dicts) first
    asked for the item: Jinja's way raises an AttributeError for each, a few hundred a page. A
    dict has no attributes but its class's, so the answer is the same."""
    if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
        try:
            return obj[attribute]
        except KeyError:
            pass
    return Environment.getattr(env, obj, attribute)


def _options(pairs: Iterable[tuple[object, object]], chosen: object = None) -> Markup:
    """The <option>s of (value, label) pairs, the one whose value is `chosen` (as text) selected. A
    city station's filters offer some 300 people and places: a Jinja loop costs several µs an
    option, this about one."""
    picked = "" if chosen is None else str(chosen)
    return Markup(
        "".join(
            f'<option value="{escape(value)}"{" selected" if picked and str(value) == picked else ""}>{escape(label)}</option>'
            for value, label in pairs
        )
    )


class _Context(Context):
    """Jinja's context, with the app's own template functions called directly: Jinja asks every
    callable, at every call, whether it wants the context passed (two hasattr and two getattr
    calls, some 150 calls a page); none of these does."""

    plain: frozenset = frozenset()

    def call(__self, __obj, *args, **kwargs):  # noqa: N805  (Jinja's own signature)
        if type(__obj) is FunctionType and __obj in __self.plain:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            return __obj(*args, **kwargs)
        return super().call(__obj, *args, **kwargs)


def _configure(engine: Engine, time_zone: str) -> None:
    env: Environment = engine.engine
    env.getattr = partial(_getattr, env)  # type: ignore[method-assign]
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        i18n.gettext,
        i18n.ngettext,
        newstyle=True,
        pgettext=i18n.pgettext,
    )
    # The extension's callables wrapped twice over (its `_` resolves `gettext` through the
    # context, which calls the function through it again): these do the same work directly.
    env.globals.update(_=_gettext, gettext=_gettext, pgettext=_pgettext, ngettext=_ngettext)
    env.globals.update(
        static_url=static_url,
        get_locale=i18n.get_locale,
        locales=i18n.LOCALES,
        nav_items=nav_items,
        page_url=page_url,
        options=_options,
        offline_pages=offline.PRECACHED,
    )
    env.filters.update(
        date=partial(i18n.format_date, tz=time_zone),
        datetime=partial(i18n.format_datetime, tz=time_zone),
        number=i18n.format_number,
        rolename=_role_name,
        cn_date=partial(cn_date, tz=time_zone),
        phone_mask=phone.mask,
        order_title=_order_title,
    )
    # Jinja marks a function that wants the context (Litestar's csrf_token) with jinja_pass_arg.
    _Context.plain = frozenset(
        f for f in env.globals.values() if type(f) is FunctionType and not hasattr(f, "jinja_pass_arg")
    )
    env.context_class = _Context
    env.trim_blocks = True
    env.lstrip_blocks = True
    # Templates change with a deploy, which restarts the server: no stat() per render.
    env.auto_reload = False


def _order_title(title: str) -> str:
    """Generated titles are stored in Chinese; Chinese readers see them as stored."""
    return title if i18n.get_locale().startswith("zh") else calls.title_for_display(title, i18n.gettext)


def _role_name(role: str) -> str:
    return i18n.gettext(ROLES.get(role) or role)


def template_config(time_zone: str) -> TemplateConfig:
    return TemplateConfig(
        directory=TEMPLATE_DIR, engine=Engine, engine_callback=partial(_configure, time_zone=time_zone)
    )
