"""Schemathesis hooks for the provider API (scripts/rig/api-fuzz.sh).

The document declares the domain's validated strings with their own formats (`codice-fiscale`,
`tax-code`, `partita-iva`, `email-address`, `mobile-it`, `card-number`): a pattern cannot say
that a codice fiscale's last letter is a check character or a partita IVA's last digit a
Luhn digit. These strategies generate values that follow those rules, so the fuzzer's "valid"
data is valid for the server too (positive-data acceptance), while anything else the fuzzer
sends for those fields must be refused.

The rules are the ones of crates/domain (codice_fiscale.rs, partita_iva.rs, contact.rs); the
check-character table is the public one of the Ministry of Finance's decree of 1976.
"""

import string

import schemathesis
from hypothesis import strategies as st

# Values of characters at 1-based odd positions of a codice fiscale.
_ODD = dict(
    zip(
        string.digits + string.ascii_uppercase,
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21]
        + [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23],
    )
)
_MONTHS = "ABCDEHLMPRST"
_OMOCODE = "LMNPQRSTUV"


def _even(c):
    return int(c) if c.isdigit() else ord(c) - ord("A")


def cf_check_char(first15):
    total = sum(_ODD[c] if i % 2 == 0 else _even(c) for i, c in enumerate(first15))
    return chr(ord("A") + total % 26)


@st.composite
def codici_fiscali(draw):
    letters = st.text(string.ascii_uppercase, min_size=1, max_size=1)
    surname_name = "".join(draw(letters) for _ in range(6))
    year = draw(st.integers(0, 99))
    month = draw(st.sampled_from(_MONTHS))
    day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 40]))
    place = draw(letters) + "%03d" % draw(st.integers(1, 999))
    body = list(surname_name + "%02d" % year + month + "%02d" % day + place)
    # Omocodia: any of the seven digit positions may carry its letter instead.
    for pos in (6, 7, 9, 10, 12, 13, 14):
        if draw(st.booleans()) and draw(st.integers(0, 3)) == 0:
            body[pos] = _OMOCODE[int(body[pos])]
    first15 = "".join(body)
    return first15 + cf_check_char(first15)


def _luhn_check_digit(ten):
    total = 0
    for i, c in enumerate(ten):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


@st.composite
def partite_iva(draw):
    serial = "%07d" % draw(st.integers(1, 9_999_999))
    office = "%03d" % draw(st.sampled_from(list(range(1, 101)) + [120, 121, 888, 999]))
    ten = serial + office
    return ten + str(_luhn_check_digit(ten))


@st.composite
def card_numbers(draw):
    # 16 digits passing Luhn, never one of the gateway's declining or timing-out test cards.
    body = "4" + "".join(draw(st.sampled_from(string.digits)) for _ in range(14))
    for check in string.digits:
        number = body + check
        if _luhn_sum_ok(number) and number not in ("4000000000000002", "4000000000000119"):
            return number
    return "4242424242424242"


def _luhn_sum_ok(number):
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_LOCAL = st.text(string.ascii_lowercase + string.digits + "._-+", min_size=1, max_size=20).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
_LABEL = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=15).filter(
    lambda s: not s.startswith("-") and not s.endswith("-")
)
_TLD = st.text(string.ascii_lowercase, min_size=2, max_size=6)
emails = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    _LOCAL,
    st.lists(_LABEL, min_size=1, max_size=3),
    _TLD,
)
mobiles = st.builds(
    lambda prefix, digits: prefix + "3" + digits,
    st.sampled_from(["", "+39"]),
    st.text(string.digits, min_size=8, max_size=9),
)

schemathesis.openapi.format("codice-fiscale", codici_fiscali())
schemathesis.openapi.format("partita-iva", partite_iva())
schemathesis.openapi.format("tax-code", st.one_of(codici_fiscali(), partite_iva()))
schemathesis.openapi.format("email-address", emails)
schemathesis.openapi.format("mobile-it", mobiles)
schemathesis.openapi.format("card-number", card_numbers())


# Rules between fields. The server enforces them; the fuzzer's positive cases follow them (its
# negative cases are left alone, so that they stay negative).


def _positive(case):
    meta = getattr(case, "meta", None)
    return meta is None or meta.generation.mode.is_positive


@schemathesis.hook("map_case").apply_to(path="/registry/v1/registration/pec-changes", method="POST")
def confirm_equals_new_pec(context, case):
    # "Conferma Nuova PEC" must repeat "Nuova PEC".
    body = case.body
    if _positive(case) and isinstance(body, dict) and isinstance(body.get("new_pec"), str):
        body["confirm_new_pec"] = body["new_pec"]
    return case


@schemathesis.hook("filter_case").apply_to(path="/registry/v1/support/tickets", method="POST")
def ticket_answers_its_topic(context, case):
    # A change of PEC is asked for in the private area when one can reach it, else with the
    # questionnaire; every other topic needs a description.
    body = case.body
    if not _positive(case) or not isinstance(body, dict):
        return True
    if body.get("topic") == "pec_change":
        return body.get("private_area_access") is False and isinstance(body.get("questionnaire"), dict)
    return isinstance(body.get("description"), str)


# The remote-signature service (CSC API v2, run 4). Its bearer-token operations are signed in
# as the test remote-signature account firma.chiara (scripts/rig/api-fuzz.sh); firma.mario is
# the account schemathesis itself signs in as on `auth/login`, so the fuzzer's wrong passwords
# there lock only that one. The TOTP secret is the sandbox's published test value
# (crates/sandbox/src/seed.rs).
_CSC_USER = "firma.chiara"
_CSC_TOTP_SECRET = "KRSXG5CTMVRXEZLU"
_CSC_CREDENTIAL = _CSC_USER + "-qes"


def _totp(secret_b32, unix):
    # RFC 6238 as the sandbox checks it: HMAC-SHA1, 30-second steps, 6 digits.
    import base64
    import hashlib
    import hmac
    import struct

    key = base64.b32decode(secret_b32)
    mac = hmac.new(key, struct.pack(">Q", unix // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


@schemathesis.hook("map_case").apply_to(path_regex="^/csc/v2/(credentials/(info|authorize)|signatures/signHash)$")
def csc_own_credential(context, case):
    # Which credential is the caller's is state, not shape: valid cases name the signed-in
    # account's, and an authorisation carries its current code.
    body = case.body
    if _positive(case) and isinstance(body, dict):
        body["credentialID"] = _CSC_CREDENTIAL
        if case.operation.path.endswith("/authorize"):
            import time

            body["authData"] = [{"id": "OTP", "value": _totp(_CSC_TOTP_SECRET, int(time.time()))}]
    return case


# What the CSC standard answers with 400 although the request is valid: the state of the
# service decides it (a SAD used, expired or for other hashes; a code already used in its
# 30-second step). Run 4 accepts 400 for schema-valid requests, and this check holds it to these.
_CSC_STATE_REFUSALS = {
    ("invalid_otp", None),
    ("invalid_request", "Invalid SAD"),
    ("invalid_request", "The hashes were not authorised by this SAD"),
}


@schemathesis.check
def csc_valid_requests_are_refused_only_for_state(ctx, response, case):
    if not case.operation.path.startswith("/csc/") or not _positive(case):
        return None
    if response.status_code != 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    error, description = body.get("error"), body.get("error_description")
    if (error, None) in _CSC_STATE_REFUSALS or (error, description) in _CSC_STATE_REFUSALS:
        return None
    raise AssertionError(
        f"A request the document calls valid was refused for its shape: {error}: {description}"
    )
