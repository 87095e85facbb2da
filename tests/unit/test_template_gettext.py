"""The templates' own gettext and attribute lookup (app/templating.py): what Jinja gave, faster."""

from __future__ import annotations

from jinja2 import Environment

from app import i18n, templating
from app.i18n import N_


def _render(source: str, locale: str, **context: object) -> str:
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    env.globals.update(_=templating._gettext, pgettext=templating._pgettext, ngettext=templating._ngettext)
    i18n.set_locale(locale)
    try:
        return env.from_string(source).render(**context)
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)


def test_each_locale_gets_its_own_text_though_the_text_is_kept():
    for _round in range(2):  # the second round reads the kept texts
        assert _render('{{ _("Qianmo") }}', "zh_CN") == "阡陌"
        assert _render('{{ _("Qianmo") }}', "en") == "Qianmo"


def test_values_are_escaped_into_the_text_and_percent_signs_kept():
    html = _render('{{ _("Too long: at most %(max)s characters", max="<b>9</b>") }}', "zh_CN")
    assert html == "内容太长：最多 &lt;b&gt;9&lt;/b&gt; 个字"
    assert _render('{{ _("%(n)s places make 80%% of calls", n=3) }}', "en") == "3 places make 80% of calls"


def test_a_message_that_carries_its_values_is_formatted_where_it_is_shown():
    message = N_("Too long: at most %(max)s characters", max="<i>")
    assert _render("{{ _(message) }}", "en", message=message) == "Too long: at most &lt;i&gt; characters"


def test_a_message_with_a_context_is_looked_up_by_it():
    assert _render('{{ pgettext("assign to a person", "To") }}', "zh_CN") == "交给"
    assert _render('{{ pgettext("assign to a person", "To") }}', "en") == "To"


def test_only_the_apps_own_messages_are_kept():
    assert _render("{{ _(text) }}", "en", text="words from data") == "words from data"
    assert ("en", "words from data") not in templating._MARKED
    _render('{{ _("Qianmo") }}', "en")
    assert ("en", "Qianmo") in templating._MARKED


def test_a_row_is_read_as_jinja_reads_it_its_keys_and_a_dicts_own_methods():
    from functools import partial

    env = Environment(autoescape=True)
    env.getattr = partial(templating._getattr, env)  # type: ignore[method-assign]
    source = "{{ row.name }}|{{ row.items()|length }}|{{ row.missing is undefined }}|{{ obj.real }}"
    row = {"name": "<泰和花园>", "items": "a key named like a method"}
    assert env.from_string(source).render(row=row, obj=3) == "&lt;泰和花园&gt;|2|True|3"


def test_the_apps_functions_are_called_directly_and_context_functions_still_get_it(monkeypatch):
    from jinja2 import pass_context

    configured = templating.template_config("Asia/Shanghai").engine_instance.engine
    assert configured.context_class is templating._Context and templating._gettext in templating._Context.plain
    env = Environment(autoescape=True)
    env.context_class = templating._Context

    @pass_context
    def page_name(context):
        return context["name"]

    calls = []

    def counted(message):
        calls.append(message)
        return message

    monkeypatch.setattr(templating._Context, "plain", templating._Context.plain | {counted})
    env.globals.update(page_name=page_name, counted=counted)
    html = env.from_string("{% for i in [1] %}{{ counted('a') }}{% endfor %} {{ page_name() }}").render(name="我的")
    assert html == "a 我的" and calls == ["a"]


def test_options_escape_and_select_by_the_values_text():
    html = templating._options([(7, "王<五>"), ("grid:3", "东区 & 西区")], "7")
    assert html == '<option value="7" selected>王&lt;五&gt;</option><option value="grid:3">东区 &amp; 西区</option>'
    assert "selected" not in templating._options([(7, "a")], None)
    assert "selected" not in templating._options([("", "a")], "")
    assert templating._options([(3, "a"), (4, "b")], 4).count("selected") == 1
