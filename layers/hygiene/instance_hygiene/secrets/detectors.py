"""The secret detectors `redact` applies, in families. Data and patterns only; pure.

Each detector is a regular expression that is linear on any input (possessive quantifiers and
bounded repeats: no backtracking a 10 MB line can turn quadratic) plus literal *anchors*: the
pattern is only tried where an anchor occurs (`str.find`), which keeps text without secrets fast.
A detector either replaces the whole match with `[REDACTED:<kind>]` (tokens whose shape names
them) or keeps the key and hides the value (`password=[REDACTED]`), so a reader knows what was
there.

The formats are the vendors' documented ones; tests/fixtures/secrets/cases.json holds one case or
more per kind, each with its public source, and tests/unit/secrets/test_detectors.py checks that every kind
here catches at least one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["DETECTORS", "FAMILIES", "KEY_WORDS", "VALUE", "Detector"]

Keep = Literal["none", "key"]


@dataclass(frozen=True)
class Detector:
    kind: str
    """The marker's kind (`[REDACTED:<kind>]`) and the detector's name in tests and docs."""
    family: str
    pattern: re.Pattern[str]
    anchors: tuple[str, ...]
    """Literal strings one of which starts every match (lower case when `fold`)."""
    keep: Keep = "none"
    """"key": the pattern has groups `key`, `sep`, `value` and only `value` is hidden."""
    fold: bool = False
    """Anchors are found in an ASCII-lowercased copy of the text (case-insensitive patterns)."""
    requires: tuple[str, ...] = ()
    """For a detector without anchors (its match starts with no fixed text): one of these must be in
    the text for the pattern to be tried at all."""
    random_only: bool = False
    """Only a match that mixes upper case, lower case and digits is a secret (short prefixes such
    as Vault's legacy `s.` would otherwise hide ordinary words)."""


FAMILIES = (
    "cloud",
    "code-hosting",
    "chat",
    "saas",
    "ai",
    "vault",
    "registry",
    "jwt",
    "private-key",
    "url-credentials",
    "key-value",
)
"""Every detector belongs to one; docs/design.md lists them (private keys are handled line by
line in `redact`, not by a pattern here)."""

# A word boundary for tokens: not preceded by a character a token is made of.
_START = r"(?<![A-Za-z0-9_])"
_END = r"(?![A-Za-z0-9_])"
_DASHED_END = r"(?![A-Za-z0-9_-])"


def _token(kind: str, family: str, body: str, anchors: str, *, random_only: bool = False) -> Detector:
    """A token named by its shape, hidden whole; `anchors` are space-separated."""
    return Detector(
        kind=kind,
        family=family,
        pattern=re.compile(_START + body),
        anchors=tuple(anchors.split()),
        random_only=random_only,
    )


def _unanchored(kind: str, family: str, body: str, *requires: str) -> Detector:
    """A token whose fixed part is not at its start (`...8Q~...`): tried everywhere, but only in
    text that holds one of `requires`."""
    return Detector(
        kind=kind, family=family, pattern=re.compile(_START + body), anchors=(), requires=requires
    )


# A value after `key=`, `key: `, `"key": `: a double-quoted string (escapes allowed), a
# single-quoted string, a few words ended by `;` (connection strings: `Password=my pass;`),
# or a bare word. A quoted value without its closing quote runs to the end of the line: the
# quoted alternatives can never fail once the quote is seen, which keeps the pattern linear,
# and an unterminated secret is hidden whole.
VALUE = (
    r"""(?:\{[^}\r\n\u2028\u2029]*+\}?+"""
    r"""|"(?:[^"\\\r\n\u2028\u2029]++|\\[^\r\n\u2028\u2029]?)*+(?:"|(?=[\r\n\u2028\u2029])|\Z)"""
    r"""|'[^'\r\n\u2028\u2029]*+(?:'|(?=[\r\n\u2028\u2029])|\Z)"""
    r"""|[^\s;&\u2028\u2029]{1,256}+(?:[ \t]++(?!\[REDACTED)[^\s;&=\u2028\u2029]{1,256}+){1,8}+(?=;)"""
    r"""|[^\s;&\u2028\u2029]++)"""
)
# After a colon and a space (`password: correct horse battery`, YAML, prose): the rest of the
# line up to a delimiter, unless it starts with a word that says there is no secret here
# (`passwd: all authentication tokens updated successfully`, `Token: expired`).
_BENIGN_WORD_AHEAD = (
    r"""(?!(?i:[a-z]{0,64}?(?:exception|error)|passwords?|passphrase|tokens?|secrets?|credentials?|"""
    r"""all|any|none|null|empty|expired|invalid|incorrect|missing|required|not|no|is|was|"""
    r"""has|have|must|cannot|can't|failed|failure|error|denied|access|authentication|ok|true|"""
    r"""false|changed|updated|unchanged|set|unset|the|for|of|to|from|\[REDACTED)\b)"""
)
_PROSE_VALUE = _BENIGN_WORD_AHEAD + r"""[^\s"'][^\r\n\u2028\u2029;,&"'`)\]}]{0,1024}+"""

KEY_WORDS = (
    r"(?:pass(?:word|wd|phrase)|pass(?=[ \t]*+=)|(?:src|dest|new)?(?:store|key)pass|pwd"
    r"|secret(?!smanager)|token"
    r"|a(?:pi[_-]?key|ccess[_-]?key|pp[_-]?key"
    r"|pplication[_-]?key)|private[_-]?key|x-amz-signature|account[_-]?key|client[_-]?secret"
    r"|shared[_-]?access[_-]?(?:key|signature))"
)
_KEY_ANCHORS = (  # each key word starts with one
    "storepass",
    "keypass",
    "srcstorepass",
    "srckeypass",
    "deststorepass",
    "destkeypass",
    "newstorepass",
    "newkeypass",
    "pass",
    "pwd",
    "secret",
    "token",
    "api",
    "access",
    "app",
    "private",
    "x-amz-signature",
    "account",
    "client",
    "shared",
)

_CLI_VALUE = r"""(?P<value>"[^"\r\n\u2028\u2029]*+"?|'[^'\r\n\u2028\u2029]*+'?|(?!\[REDACTED)[^\s'"]++)"""


def _key_value(
    kind: str,
    pattern: str,
    anchors: tuple[str, ...],
    *,
    ignore_case: bool = True,
    fold: bool = True,
    requires: tuple[str, ...] = (),
    family: str = "key-value",
) -> Detector:
    """A detector that hides group `value` and keeps `key` and `sep`; `fold`: the anchors are
    found case-insensitively (also for a pattern that is case-sensitive only in part)."""
    flags = re.IGNORECASE | re.ASCII if ignore_case else 0
    return Detector(
        kind=kind,
        family=family,
        pattern=re.compile(pattern, flags),
        anchors=anchors,
        keep="key",
        fold=fold,
        requires=requires,
    )


_CLOUD = (
    _token(
        "aws-access-key-id",
        "cloud",
        r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])",
        "AKIA ASIA ABIA ACCA A3T",
    ),
    _token(
        "aws-session-token",
        "cloud",
        r"(?<![A-Za-z0-9/+=])(?:FQoGZXIvYXdz|FwoGZXIvYXdz|IQoJb3JpZ2lu)[A-Za-z0-9/+=%]{20,}+",
        "FQoGZXIvYXdz FwoGZXIvYXdz IQoJb3JpZ2lu",
    ),
    _token("gcp-api-key", "cloud", r"AIza[0-9A-Za-z_-]{35}" + _DASHED_END, "AIza"),
    _token("google-oauth-access-token", "cloud", r"ya29\.[0-9A-Za-z_-]{20,}+", "ya29."),
    _unanchored(
        "azure-ad-client-secret",
        "cloud",
        r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}+" + _DASHED_END,
        "Q~",
    ),
    Detector(  # Azure SAS, GCS and generic signed URLs: `?sv=...&sig=...`, `&X-Goog-Signature=...`
        kind="url-signature",
        family="cloud",
        pattern=re.compile(
            r"(?<=[?&])(?P<key>sig|signature|x-goog-signature|x-goog-credential|x-amz-credential|"
            r"x-amz-security-token)(?P<sep>=)(?P<value>[^\s&#'\"<>]{1,4096}+)",
            re.IGNORECASE | re.ASCII,
        ),
        anchors=("sig=", "signature=", "x-goog-", "x-amz-"),
        keep="key",
        fold=True,
    ),
)

_CODE_HOSTING = (
    _token(
        "github-token",
        "code-hosting",
        r"(?:gh[pousr]_[A-Za-z0-9]{36,251}+|github_pat_[A-Za-z0-9_]{22,251}+)" + _END,
        "ghp_ gho_ ghu_ ghs_ ghr_ github_pat_",
    ),
    _token(
        "gitlab-token",
        "code-hosting",
        r"(?:gl(?:pat|dt|rt|cbt|ptt|soat|oas|ffct|imt|agent|wt|ft)-[0-9A-Za-z_.-]{20,255}+|GR1348941[0-9A-Za-z_-]{20,}+)",
        "glpat- gldt- glrt- glcbt- glptt- glsoat- gloas- glffct- glimt- glagent- glwt- glft- GR1348941",
    ),
    _token(
        "atlassian-token",
        "code-hosting",
        r"(?:ATBB|ATCTT3|ATATT3|ATSTT3)[A-Za-z0-9_=.+/-]{24,}+",
        "ATBB ATCTT3 ATATT3 ATSTT3",
    ),
)

_CHAT = (
    _token(
        "slack-token", "chat", r"(?<![A-Za-z0-9-])(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,250}+", "xox xapp-"
    ),
    _token("slack-config-token", "chat", r"xoxe\.xox[bp]-[0-9]-[A-Za-z0-9-]{20,250}+", "xoxe."),
    Detector(
        kind="slack-webhook",
        family="chat",
        pattern=re.compile(
            r"(?P<key>hooks\.slack\.com/(?:services|workflows|triggers)/)(?P<sep>)(?P<value>[A-Za-z0-9/_-]{8,}+)",
            re.IGNORECASE,
        ),
        anchors=("hooks.slack.com/",),
        keep="key",
        fold=True,
    ),
    Detector(
        kind="discord-webhook",
        family="chat",
        pattern=re.compile(
            r"(?P<key>discord(?:app)?\.com/api/(?:v[0-9]{1,2}/)?webhooks/[0-9]{1,30}+/)(?P<sep>)"
            r"(?P<value>[A-Za-z0-9_-]{20,}+)",
            re.IGNORECASE,
        ),
        anchors=("discord.com/api/", "discordapp.com/api/"),
        keep="key",
        fold=True,
    ),
    # Incoming webhooks: webhook.office.com/webhookb2/<group>@<tenant>/IncomingWebhook/<id>/<owner>[/<sig>]
    Detector(
        kind="teams-webhook",
        family="chat",
        pattern=re.compile(
            r"(?P<key>\.webhook\.office\.com/webhookb2/|outlook\.office(?:365)?\.com/webhook/)(?P<sep>)"
            r"(?P<value>[A-Za-z0-9@/_~.-]{16,}+)",
            re.IGNORECASE,
        ),
        anchors=(".webhook.office.com/", "outlook.office.com/webhook/", "outlook.office365.com/webhook/"),
        keep="key",
        fold=True,
    ),
)

_SAAS = (
    _token(
        "stripe-key",
        "saas",
        r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,247}+" + _END,
        "sk_live_ sk_test_ rk_live_ rk_test_",
    ),
    _token("stripe-webhook-secret", "saas", r"whsec_[0-9A-Za-z]{24,}+", "whsec_"),
    _token("twilio-api-key", "saas", r"SK[0-9a-fA-F]{32}" + _END, "SK"),
    _token("sendgrid-api-key", "saas", r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}+", "SG."),
    _token("mailgun-api-key", "saas", r"key-[0-9a-f]{32}" + _END, "key-"),
    _token("npm-token", "saas", r"npm_[A-Za-z0-9]{36}" + _END, "npm_"),
    _token("pypi-token", "saas", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{16,}+", "pypi-AgEIcHlwaS5vcmc"),
    _token(
        "shopify-token", "saas", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _END, "shpat_ shpca_ shppa_ shpss_"
    ),
    _token("postman-api-key", "saas", r"PMAK-[A-Za-z0-9]{24}-[A-Za-z0-9]{34}" + _END, "PMAK-"),
    _token("sentry-token", "saas", r"(?:sntrys_|sntryu_)[A-Za-z0-9_=+/]{30,}+", "sntrys_ sntryu_"),
    _token(
        "new-relic-key", "saas", r"NR(?:AK|II|JS|BR)-[A-Za-z0-9_-]{19,32}+" + _END, "NRAK- NRII- NRJS- NRBR-"
    ),
    _token("grafana-token", "saas", r"(?:glc_|glsa_)[A-Za-z0-9_+/=]{32,}+", "glc_ glsa_"),
    _token("digitalocean-token", "saas", r"do[opr]_v1_[a-f0-9]{64}" + _END, "dop_v1_ doo_v1_ dor_v1_"),
    _unanchored(
        "terraform-cloud-token", "saas", r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,}+", ".atlasv1."
    ),
    _token("linear-api-key", "saas", r"lin_api_[A-Za-z0-9]{40}" + _END, "lin_api_"),
    _token(
        "doppler-token",
        "saas",
        r"dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]{1,64}+\.)?+[A-Za-z0-9]{40,}+",
        "dp.",
    ),
)

_AI = (
    _token("anthropic-api-key", "ai", r"sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{32,}+", "sk-ant-"),
    _token(
        "openai-api-key",
        "ai",
        r"sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,}+(?:T3BlbkFJ[A-Za-z0-9_-]{16,}+)?",
        "sk-",
        random_only=True,
    ),
    _token("huggingface-token", "ai", r"hf_[A-Za-z]{34,40}" + _END, "hf_"),
    _token("groq-api-key", "ai", r"gsk_[A-Za-z0-9]{48,}+", "gsk_"),
    _token("replicate-token", "ai", r"r8_[A-Za-z0-9_-]{37,}+", "r8_"),
    _token("perplexity-api-key", "ai", r"pplx-[A-Za-z0-9]{40,}+", "pplx-"),
    _token("xai-api-key", "ai", r"xai-[A-Za-z0-9_]{70,}+", "xai-"),
)

_VAULT = (
    _token("vault-token", "vault", r"hv[sbr]\.[A-Za-z0-9_-]{24,}+", "hvs. hvb. hvr."),
    _token(
        "vault-legacy-token",
        "vault",
        r"(?<![\w.])[sbr]\.[A-Za-z0-9]{24}(?![\w.])",
        "s. b. r.",
        random_only=True,
    ),
)

_REGISTRY = (
    _key_value(  # ~/.docker/config.json: "auths": {"host": {"auth": "<base64 of user:password>"}}
        "docker-auth",
        r"""(?P<key>"(?:auth|identitytoken|registrytoken)")(?P<sep>[ \t]*+:[ \t]*+)"""
        r"""(?P<value>"[^"\r\n]{4,}+"?)""",
        ('"auth"', '"identitytoken"', '"registrytoken"'),
        family="registry",
    ),
)

_JWT = (
    _token(
        "jwt",
        "jwt",
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+",
        "eyJ",
    ),
)

_URL_CREDENTIALS = (
    Detector(
        kind="url-credentials",
        family="url-credentials",
        pattern=re.compile(
            r"(?P<key>://[^\s:/@?#\[\]]{0,256}+:)(?P<sep>)(?P<value>(?!\[REDACTED)[^\s/]{1,256})(?=@)"
        ),
        anchors=("://",),
        keep="key",
    ),
    _key_value(  # Oracle's user/password@db: `jdbc:oracle:thin:scott/tiger@host`, `sqlplus scott/tiger@orcl`.
        "oracle-credentials",
        r"(?P<key>(?:jdbc:oracle:[a-z]{1,10}+:|sqlplus(?:[ \t]++-\w{1,10}+)*+[ \t]++)"
        r"[\w$#.-]{1,128}+/)(?P<sep>)"
        r"(?P<value>(?!\[REDACTED)[^\s@/'\"]{1,256}+)(?=[@\s'\"]|\Z)",
        ("jdbc:oracle:", "sqlplus"),
        family="url-credentials",
    ),
)

_KEY_VALUE = (
    _key_value(  # Digest's parameters are quoted: everything after the scheme goes
        "authorization-digest",
        r"(?<![A-Za-z0-9_])(?P<key>(?:proxy-)?authorization)(?P<sep>[\"']?[ \t]*+[:=][ \t]*+digest[ \t]++)"
        r"(?P<value>(?!\[REDACTED)[^\r\n\u2028\u2029]++)",
        ("authorization", "proxy-authorization"),
    ),
    _key_value(
        "authorization-header",
        r"(?<![A-Za-z0-9_])(?P<key>(?:proxy-)?authorization)"
        r"(?P<sep>[\"']?[ \t]*+[:=][ \t]*+[\"']?(?:(?:bearer|basic|digest|negotiate|ntlm|token|bot|sso-key"
        r"|aws4-hmac-sha256|splunk|apikey|key)[ \t]++)?+)"
        r"(?P<value>(?!\[REDACTED)[^\"'\r\n\u2028\u2029]++)",
        ("authorization", "proxy-authorization"),
    ),
    _key_value(
        "bearer-token",
        r"(?<![A-Za-z0-9_])(?P<key>bearer)(?P<sep>[ \t]++)"
        r"""(?P<value>[A-Za-z0-9\-._~+/]{16,}+[^\s"',;\u2028\u2029]*+)""",
        ("bearer",),
    ),
    _key_value(  # `Cookie: a=b; c=d`, `Set-Cookie: session=...`: every value of the header
        "cookie",
        r"(?<![A-Za-z0-9_-])(?P<key>(?:set-)?cookie2?)(?P<sep>[\"']?[ \t]*+:[ \t]*+)"
        r"(?P<value>(?!\[REDACTED)[^\r\n\u2028\u2029\"']++)",
        ("cookie", "set-cookie"),
    ),
    _key_value(  # `password: correct horse battery staple` (YAML, prose): the rest of the phrase
        "password-phrase",
        r"(?<!/etc/)"
        rf"(?P<key>{KEY_WORDS}[\w.-]{{0,40}}+)(?P<sep>[\"']?:[ \t]++)"
        rf"(?P<value>{_PROSE_VALUE})",
        _KEY_ANCHORS,
    ),
    _key_value(
        "key-value",
        r"(?<!/etc/)"  # not the file /etc/passwd
        rf"(?P<key>{KEY_WORDS}[\w.-]{{0,40}}+)"
        r"(?P<sep>[\"']?[ \t]*+=[ \t]*+)"
        rf"(?P<value>{VALUE})",
        _KEY_ANCHORS,
    ),
    _key_value(  # `key: value`, `"key": "value"`: unless the value is a word of prose
        "key-colon-value",
        r"(?<!/etc/)"
        rf"(?P<key>{KEY_WORDS}[\w.-]{{0,40}}+)"
        r"(?P<sep>[\"']?[ \t]*+:[ \t]*+)"
        rf"(?P<value>{_BENIGN_WORD_AHEAD}{VALUE})",
        _KEY_ANCHORS,
    ),
    _key_value(  # --password VALUE, -Token VALUE (the dashes stay outside the match)
        "flag-value",
        r"(?:(?<=-)(?<![\w-]-)|(?<=--)(?<![\w-]--))"
        rf"(?P<key>{KEY_WORDS}[\w-]{{0,40}}+)"
        r"(?P<sep>[ \t]++)"
        rf"(?P<value>{VALUE})",
        _KEY_ANCHORS,
    ),
    _key_value(  # ConvertTo-SecureString [-String] 'x' [-AsPlainText] [-Force], flags in any order
        "powershell-securestring",
        r"(?P<key>convertto-securestring(?:[ \t]++-(?:string|asplaintext|force)(?=[ \t]))*+)(?P<sep>[ \t]++)"
        rf"(?P<value>{VALUE})",
        ("convertto-securestring",),
    ),
    _key_value(  # `mysql -pSECRET`, `sshpass -p SECRET`, `docker login -u me -p SECRET` (not `mkdir -p`)
        "cli-password",
        r"(?<![\w-])(?P<key>(?i:mysql|mariadb|sshpass|login)[\w.-]{0,20}+"
        r"(?:[ \t]++(?!-p)\S{1,256}+){0,16}+[ \t]++-p)(?P<sep>[ \t]*+)" + _CLI_VALUE,
        ("mysql", "mariadb", "sshpass", "login"),
        ignore_case=False,
    ),
    _key_value(  # .netrc: `machine HOST login USER password SECRET`
        "netrc",
        r"(?<![\w-])(?P<key>machine[ \t]++\S{1,256}+(?:[ \t]++(?:login|account)[ \t]++\S{1,256}+){0,4}+"
        r"[ \t]++password)(?P<sep>[ \t]++)" + _CLI_VALUE,
        ("machine",),
    ),
    _key_value(  # curl -u USER:SECRET, --user USER:SECRET, --proxy-user, -U (the user stays visible)
        "curl-user",
        r"(?<![\w-])(?P<key>curl(?:[ \t]++(?!-u|-U|--user|--proxy-user)\S{1,4096}+){0,32}+[ \t]++"
        r"(?:-u|-U|--user|--proxy-user)(?:[ \t]++|=)?+['\"]?+[^\s:'\"]{1,256}+:)(?P<sep>)"
        r"(?P<value>(?!\[REDACTED)[^\s'\"]{1,256}+)",
        ("curl",),
    ),
    _key_value(  # net use [X:] \\server\share [password] /user:DOMAIN\user [password]
        "net-use",
        r"(?<![\w-])(?P<key>net[ \t]++use"
        r"(?:[ \t]++(?:[a-z]:|\*|\\\\[^\s]{1,1024}+|/[a-z]{1,20}+(?::[^\s]{0,256}+)?))*+)"
        r"(?P<sep>[ \t]++)(?P<value>(?![/\\*]|\[REDACTED)[^\s]{1,256}+)",
        ("net use",),
    ),
    _key_value(  # cmdkey /add:host /user:me /pass:SECRET, schtasks /create ... /RP SECRET
        "windows-pass-switch",
        r"(?<![\w-])(?P<key>/(?:pass|rp|p(?=:)))(?P<sep>[: ]++)(?P<value>(?!\[REDACTED|/)[^\s\"']{1,256}+)",
        ("/pass", "/rp", "/p:"),
    ),
    _key_value(  # .netrc written over several lines: `  password SECRET` alone on its line
        "netrc-password-line",
        r"(?im)(?P<key>^[ \t]*+password)(?P<sep>[ \t]++)"
        rf"(?P<value>{_BENIGN_WORD_AHEAD}[^\s]{{1,256}}+)[ \t]*+$",
        (),
        requires=("password", "Password", "PASSWORD"),
    ),
    _key_value(  # openssl ... -passout pass:SECRET, -passin pass:SECRET (env: and file: name no secret)
        "openssl-pass",
        r"(?P<key>-pass(?:in|out)[ \t]++pass:)(?P<sep>)(?P<value>(?!\[REDACTED)[^\s'\"]{1,256}+)",
        ("-passin", "-passout"),
    ),
    _key_value(  # echo 'user:SECRET' | chpasswd
        "chpasswd",
        r"(?P<key>echo[ \t]++(?:-e[ \t]++)?['\"]?+[\w.@-]{1,64}+:)(?P<sep>)"
        r"(?P<value>(?!\[REDACTED)[^\s'\":|]{1,256}+)(?=['\"]?[ \t]*+\|[ \t]*+(?:sudo[ \t]++)?chpasswd)",
        ("echo",),
    ),
    _key_value(  # htpasswd -b [-c] FILE USER SECRET
        "htpasswd",
        # (only with -b does htpasswd take a third argument, the password)
        r"(?P<key>htpasswd(?:[ \t]++-[a-zA-Z]{1,7}+)*+[ \t]++\S{1,1024}+[ \t]++\S{1,256}+)"
        r"(?P<sep>[ \t]++)" + _CLI_VALUE,
        ("htpasswd",),
    ),
    _key_value(  # ~/.pgpass: hostname:port:database:username:password, one word of five fields
        "pgpass",
        r"(?P<key>(?<![^\s/])[A-Za-z0-9.*_-]{1,253}+:(?:[0-9]{1,5}|\*):[^\s:]{1,128}+:[^\s:]{1,128}+:)"
        r"(?P<sep>)(?P<value>(?!\[REDACTED)[^\s:/]{1,256}+)(?![^\s/])",
        (),
        ignore_case=False,
        requires=(":",),
    ),
)


def _tool_flag(kind: str, tools: str, flag: str, anchors: tuple[str, ...]) -> Detector:
    """`TOOL ... FLAG SECRET`: the password flag of one family of tools (`ldapsearch -w`,
    `redis-cli -a`, `sqlcmd -P`), case-sensitive (`redis-cli -p` is its port)."""
    return _key_value(
        kind,
        rf"(?<![\w-])(?P<key>(?i:{tools})(?:[ \t]++(?!{flag}[ \t])\S{{1,1024}}+){{0,32}}+[ \t]++{flag})"
        r"(?P<sep>[ \t]++)" + _CLI_VALUE,
        anchors,
        ignore_case=False,
    )


_TOOL_FLAGS = (
    _tool_flag(
        "ldap-bind-password", r"ldap(?:search|modify|add|delete|whoami|compare|passwd|exop)", "-w", ("ldap",)
    ),
    _tool_flag("redis-cli-password", r"redis-cli", "-a", ("redis-cli",)),
    _tool_flag("sqlcmd-password", r"sqlcmd|bcp|osql", "-P", ("sqlcmd", "bcp", "osql")),
    _key_value(  # smbclient -U 'DOMAIN\user%SECRET'
        "smbclient-password",
        r"(?<![\w-])(?P<key>smbclient(?:[ \t]++(?!-U)\S{1,1024}+){0,32}+[ \t]++-U[ \t]*+"
        r"['\"]?+[^\s%'\"]{1,256}+%)"
        r"(?P<sep>)(?P<value>(?!\[REDACTED)[^\s'\"]{1,256}+)",
        ("smbclient",),
        ignore_case=False,
    ),
)

_MORE_TOKENS = (
    _unanchored(  # 88 base64 characters: an Azure storage account key (az storage account keys list)
        "azure-storage-key",
        "cloud",
        r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])",
        "==",
    ),
    Detector(
        kind="telegram-bot-token",
        family="chat",
        pattern=re.compile(
            r"(?P<key>api\.telegram\.org/(?:file/)?bot)(?P<sep>)(?P<value>[0-9]{5,16}+:[A-Za-z0-9_-]{30,}+)"
        ),
        anchors=("api.telegram.org/",),
        keep="key",
    ),
    _unanchored("telegram-bot-token", "chat", r"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}" + _DASHED_END, ":AA"),
    _token("docker-hub-token", "registry", r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{20,}+", "dckr_pat_ dckr_oat_"),
    _token(
        "password-hash",
        "key-value",
        r"(?<![\w$])\$(?:2[abxy]|[156]|apr1|y|gy|7|argon2(?:id|i|d))\$[./A-Za-z0-9$=,+-]{20,}+",
        "$2 $1$ $5$ $6$ $apr1$ $y$ $gy$ $7$ $argon2",
    ),
)

DETECTORS: tuple[Detector, ...] = (
    *_KEY_VALUE[:4],  # headers first: their values hold tokens the token rules would cut in two
    *_URL_CREDENTIALS,
    *_KEY_VALUE[4:],
    *_TOOL_FLAGS,
    *_CLOUD,
    *_MORE_TOKENS,
    *_CODE_HOSTING,
    *_CHAT,
    *_SAAS,
    *_AI,
    *_VAULT,
    *_REGISTRY,
    *_JWT,
)
"""In the order `redact` applies them."""
