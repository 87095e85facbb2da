"""Passkeys in a real browser: Chromium's virtual authenticator stands in for the phone's
fingerprint reader (ARCHITECTURE.md, Testing). Invitation → passkey → sign out → sign in
without a user name → own passkeys → revoke → refused; and a deactivated person is out."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def with_authenticator(context, page) -> None:
    """Give the page a platform authenticator (after goto, on that page's session)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})


def demo_sign_in(page, role_label: str, next_path: str = "/") -> None:
    page.goto(f"/signin?next={next_path}")
    page.locator("form[action='/signin/demo'] button", has_text=role_label).click()


def sign_out(page) -> None:
    page.goto("/me")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", level=1, name="登录")).to_be_visible()


def invite_new_person(page, name: str) -> str:
    """As the demo administrator: add a grid worker and read their one-time link."""
    demo_sign_in(page, "系统管理员", "/people/new")
    page.get_by_label("姓名").fill(name)
    page.locator("#role_0").select_option("grid_worker")
    page.locator("#unit_0").select_option(label="泰和一网格")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", name="邀请链接")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    link = page.locator(".invitation code").inner_text()
    sign_out(page)
    return link


def test_invitation_passkey_sign_in_and_revocation(new_context, screenshot):
    context = new_context("zh-CN")
    page = context.new_page()
    name = f"测试{uuid.uuid4().hex[:4]}"
    link = invite_new_person(page, name)

    page.goto(link)
    expect(page.get_by_text(f"{name}，欢迎")).to_be_visible()
    screenshot(page, "20-invitation")
    with_authenticator(context, page)
    page.get_by_label("给这台设备起个名字").fill("测试手机")
    page.get_by_role("button", name="创建我的通行密钥").click()
    expect(page.get_by_text("通行密钥已创建，您已登录。")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()

    # A used link says so.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("此邀请链接已被使用")

    sign_out(page)
    page.goto("/signin?next=/me")
    screenshot(page, "21-signin")
    page.get_by_role("button", name="用通行密钥登录").click()  # no user name typed anywhere
    expect(page).to_have_url(re.compile(r"/me$"))
    passkeys = page.locator(".card-body")
    expect(passkeys).to_have_count(1)
    expect(passkeys.first).to_contain_text("测试手机")
    screenshot(page, "22-me")

    page.get_by_role("button", name="吊销").click()
    expect(page.locator(".card-body").first).to_contain_text("已吊销")
    sign_out(page)
    page.goto("/signin")
    page.get_by_role("button", name="用通行密钥登录").click()
    expect(page.get_by_role("status")).to_contain_text("此通行密钥未在本系统注册")
    expect(page).to_have_url(re.compile(r"/signin"))


def test_a_deactivated_person_is_thrown_out_on_the_next_request(new_context):
    officer_phone = new_context("zh-CN").new_page()
    demo_sign_in(officer_phone, "社区民警", "/area")
    expect(officer_phone.get_by_role("heading", level=1, name="我的辖区")).to_be_visible()

    admin = new_context("zh-CN").new_page()
    demo_sign_in(admin, "系统管理员", "/people?role=officer")
    admin.get_by_role("link", name=re.compile("邵韦杰")).click()
    admin.get_by_role("button", name="停用").click()
    expect(admin.locator("h1 .tag")).to_have_text("已停用")

    officer_phone.reload()
    expect(officer_phone).to_have_url(re.compile(r"/signin\?next=/area"))
    expect(officer_phone.get_by_role("heading", level=1, name="登录")).to_be_visible()

    admin.get_by_role("button", name="重新启用").click()  # leave the demo as it was
    expect(admin.locator("h1 .tag")).to_have_count(0)


NASTY_TARGETS = [
    "//evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "\t",
    "\n",
    "javascript:alert(1)",
    "https://evil.example/",
    "evil.example",
    "/\u3000/evil",
    "/\u200b/evil",
    "/me\u2028",
    " /me",
    "",
]


def test_a_script_navigates_only_to_a_path_on_this_site(new_context):
    """passkey.js goes where the server's answer says only through Qianmo.safePath (app.js), the
    browser's copy of app/domain/redirects.safe_next: a forged answer lands on "/"."""
    context = new_context("zh-CN")
    page = context.new_page()
    demo_sign_in(page, "社区民警", "/me")
    expect(page).to_have_url(re.compile(r"/me$"))
    # The URL changes when the page's answer arrives; its deferred app.js runs a moment later.
    page.wait_for_function("() => window.Qianmo && window.Qianmo.safePath")
    assert page.evaluate("(targets) => targets.map((t) => Qianmo.safePath(t))", NASTY_TARGETS) == [""] * len(
        NASTY_TARGETS
    )
    assert page.evaluate("() => ['/', '/me', '/calls?q=黄河'].map((t) => Qianmo.safePath(t))") == [
        "/",
        "/me",
        "/calls?q=黄河",
    ]
    # The server never answers this, but the page must not follow it if it did.
    page.route(
        "**/me/passkeys/verify",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body='{"redirect": "/\\t/evil.example/"}'
        ),
    )
    with_authenticator(context, page)
    page.get_by_role("button", name="添加通行密钥").click()
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/$"))
