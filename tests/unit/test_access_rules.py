"""Pure access rules: who may hand out an invitation link."""

from app.domain.access import invitation_refusal


def test_only_an_administrator_invites_a_person_who_has_an_account():
    assert invitation_refusal(issuer_is_admin=True, holds_roles=True, has_passkeys=True) is None
    assert invitation_refusal(issuer_is_admin=False, holds_roles=False, has_passkeys=False) is None
    assert invitation_refusal(issuer_is_admin=False, holds_roles=True, has_passkeys=False)
    assert invitation_refusal(issuer_is_admin=False, holds_roles=False, has_passkeys=True)
    assert invitation_refusal(issuer_is_admin=False, holds_roles=True, has_passkeys=True)
