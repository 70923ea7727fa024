"""Basic auth, CSRF, same-origin checks, security headers and XSS through job data."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sidequest import ConfigurationError, JobRecord, JobState, Sidequest
from sidequest_dashboard import create_app

from .conftest import client_for
from .dashboard_seed import csrf_token, error, finish, raw_job, start

CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# auth ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/jobs", "/queues", "/partials/counts", "/static/app.css", "/nothing"])
async def test_auth_is_required_everywhere(memory_sq: Sidequest, path: str) -> None:
    async with client_for(create_app(memory_sq, auth=("admin", "s3cret"))) as http:
        refused = await http.get(path)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith('Basic realm="sidequest"')
        assert refused.headers["content-security-policy"] == CSP
        allowed = await http.get(path, headers=basic("admin", "s3cret"))
        assert allowed.status_code == (404 if path == "/nothing" else 200)


@pytest.mark.parametrize(
    "header",
    [
        basic("admin", "wrong"),
        basic("root", "s3cret"),
        basic("admin", "s3cret!"),
        basic("admin", ""),
        {"Authorization": "Basic not-base64!!"},
        {"Authorization": "Bearer s3cret"},
        {"Authorization": "Basic " + base64.b64encode(b"admins3cret").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
    ],
)
async def test_wrong_credentials_are_401(memory_sq: Sidequest, header: dict[str, str]) -> None:
    async with client_for(create_app(memory_sq, auth=("admin", "s3cret"))) as http:
        assert (await http.get("/", headers=header)).status_code == 401


async def test_auth_as_a_string(memory_sq: Sidequest) -> None:
    async with client_for(create_app(memory_sq, auth="admin:s3:cret")) as http:
        assert (await http.get("/", headers=basic("admin", "s3:cret"))).status_code == 200


async def test_passwords_with_colons_and_unicode(memory_sq: Sidequest) -> None:
    async with client_for(create_app(memory_sq, auth=("ops", "pä:ss wörd"))) as http:
        assert (await http.get("/", headers=basic("ops", "pä:ss wörd"))).status_code == 200
        assert (await http.get("/", headers=basic("ops", "pä:ss"))).status_code == 401


@pytest.mark.parametrize("auth", [("", "x"), ("a", ""), ("a:b", "x"), ("only",), "nocolon", ":pw", 42])
async def test_bad_auth_config_is_refused(memory_sq: Sidequest, auth: Any) -> None:
    with pytest.raises(ConfigurationError):
        create_app(memory_sq, auth=auth)


async def test_actions_need_auth_too(memory_sq: Sidequest) -> None:
    job = await raw_job(memory_sq)
    async with client_for(create_app(memory_sq, auth=("admin", "s3cret"))) as http:
        token = await csrf_token(http) if False else None
        assert (await http.post(f"/jobs/{job.id}/cancel", data={"csrf_token": "x"})).status_code == 401
        http.headers.update(basic("admin", "s3cret"))
        token = await csrf_token(http)
        assert (await http.post(f"/jobs/{job.id}/cancel", data={"csrf_token": token})).status_code == 303


# CSRF and origin -------------------------------------------------------------------------------
@pytest.fixture
async def waiting(memory_sq: Sidequest) -> JobRecord:
    return await raw_job(memory_sq)


async def test_csrf_token_missing_or_wrong_is_403(memory_sq: Sidequest, waiting: JobRecord) -> None:
    async with client_for(create_app(memory_sq)) as http:
        token = await csrf_token(http)
        path = f"/jobs/{waiting.id}/cancel"
        for data in ({}, {"csrf_token": ""}, {"csrf_token": token[:-2] + "xx"}, {"csrf_token": token + "a"}):
            response = await http.post(path, data=data)
            assert response.status_code == 403
            assert "security token" in response.text
        for path_ in ("/jobs", "/queues/default/pause"):
            assert (
                await http.post(path_, data={"action": "cancel", "ids": str(waiting.id)})
            ).status_code == 403
    assert (await memory_sq.jobs.get(waiting.id)).state == JobState.WAITING


async def test_csrf_token_is_bound_to_the_cookie_and_secret(memory_sq: Sidequest, waiting: JobRecord) -> None:
    app = create_app(memory_sq)
    async with client_for(app) as first, client_for(app) as second:
        token = await csrf_token(first)
        await csrf_token(second)
        stolen = await second.post(f"/jobs/{waiting.id}/cancel", data={"csrf_token": token})
        assert stolen.status_code == 403
    async with client_for(app) as fresh:
        no_cookie = await fresh.post(f"/jobs/{waiting.id}/cancel", data={"csrf_token": token})
        assert no_cookie.status_code == 403
    async with client_for(create_app(memory_sq)) as other_process:
        await csrf_token(other_process)
        other_process.cookies.clear()
        assert (
            await other_process.post(f"/jobs/{waiting.id}/cancel", data={"csrf_token": token})
        ).status_code == 403


async def test_shared_secret_works_across_processes(memory_sq: Sidequest, waiting: JobRecord) -> None:
    one, two = create_app(memory_sq, secret="shared"), create_app(memory_sq, secret="shared")
    async with client_for(one) as http:
        token = await csrf_token(http)
        cookies = dict(http.cookies)
    async with client_for(two, cookies=cookies) as http:
        assert (await http.post(f"/jobs/{waiting.id}/cancel", data={"csrf_token": token})).status_code == 303


async def test_csrf_header_is_accepted(memory_sq: Sidequest, waiting: JobRecord) -> None:
    async with client_for(create_app(memory_sq)) as http:
        token = await csrf_token(http)
        response = await http.post(f"/jobs/{waiting.id}/cancel", headers={"X-CSRF-Token": token})
        assert response.status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    ],
)
async def test_cross_origin_posts_are_403(
    memory_sq: Sidequest, waiting: JobRecord, headers: dict[str, str]
) -> None:
    async with client_for(create_app(memory_sq)) as http:
        token = await csrf_token(http)
        for path, data in (
            (f"/jobs/{waiting.id}/cancel", {}),
            ("/jobs", {"action": "cancel", "ids": str(waiting.id)}),
            ("/queues/default/pause", {}),
        ):
            response = await http.post(path, data={"csrf_token": token, **data}, headers=headers)
            assert response.status_code == 403
            assert "Refused" in response.text
    assert (await memory_sq.jobs.get(waiting.id)).state == JobState.WAITING


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}, {}],
)
async def test_same_origin_posts_pass(
    memory_sq: Sidequest, waiting: JobRecord, headers: dict[str, str]
) -> None:
    async with client_for(create_app(memory_sq)) as http:
        token = await csrf_token(http)
        response = await http.post(f"/jobs/{waiting.id}/cancel", data={"csrf_token": token}, headers=headers)
        assert response.status_code == 303


async def test_csrf_cookie_flags(memory_sq: Sidequest) -> None:
    async with client_for(create_app(memory_sq)) as http:
        cookie = (await http.get("/")).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(memory_sq)), base_url="https://testserver"
    ) as https:
        assert "secure" in (await https.get("/")).headers["set-cookie"].lower()


# headers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/jobs", "/queues", "/jobs/999", "/static/app.js", "/jobs?state=bad"])
async def test_security_headers(memory_sq: Sidequest, path: str) -> None:
    async with client_for(create_app(memory_sq)) as http:
        response = await http.get(path)
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    if response.headers["content-type"].startswith("text/html"):
        assert response.headers["cache-control"] == "no-store"


async def test_htmx_is_configured_safely(memory_sq: Sidequest) -> None:
    async with client_for(create_app(memory_sq)) as http:
        text = (await http.get("/")).text
    assert '"selfRequestsOnly": true' in text and '"allowScriptTags": false' in text
    assert '"allowEval": false' in text


# XSS -------------------------------------------------------------------------------------------------
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</pre></details><iframe src=javascript:alert(1)></iframe>",
    '<a href="javascript:alert(1)">click</a>',
    "</title><style>body{display:none}</style>",
    "' onmouseover='alert(1)",
    '" onfocus="alert(1)" autofocus="',
]
OUR_TAGS = {"img": {"/static/favicon.svg"}}


class Inspector(HTMLParser):
    """Collects everything a browser would treat as markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.problems.append(f"inline or foreign script {attrs}")
        if tag in {"iframe", "svg", "style", "object", "embed", "base", "form"} - {"form"}:
            self.problems.append(f"injected <{tag}>")
        if tag == "img" and not any((values.get("src") or "").startswith(s) for s in OUR_TAGS["img"]):
            self.problems.append(f"injected <img> {attrs}")
        for name, value in attrs:
            if name.startswith("on") or name in {"style", "autofocus", "srcdoc", "formaction"}:
                self.problems.append(f"attribute {name}={value!r} on <{tag}>")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in <{tag} {name}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def inspect(html: str) -> Inspector:
    parser = Inspector()
    parser.feed(html)
    parser.close()
    return parser


async def hostile_jobs(sq: Sidequest) -> list[JobRecord]:
    """Jobs in every state whose every stored text field carries a payload."""
    records = []
    for index, payload in enumerate(PAYLOADS):
        queue = f"q{index}{payload}"
        job = await raw_job(
            sq,
            queue=queue,
            job_class=f"Job{payload}",
            script=f"mod{payload}",
            args=(payload, {"nested": [payload]}),
            kwargs={payload: payload, "to": payload},
            constructor_args=(payload,),
        )
        hostile = error(payload, type=payload, worker=payload, traceback=f"Traceback\n{payload}")
        await finish(sq, job, JobState.WAITING, err=hostile)
        records.append(await finish(sq, job, JobState.FAILED, err=hostile))
        done = await raw_job(sq, queue=queue, job_class=payload, args=(payload,))
        records.append(await finish(sq, done, JobState.COMPLETED, result={payload: [payload]}))
        running = await raw_job(sq, queue=queue, job_class=payload, kwargs={"x": payload})
        records.append(await start(sq, running))
        records.append(await raw_job(sq, queue=queue, job_class=payload, args=(payload,)))
    return records


async def test_no_injected_markup_anywhere(sq: Sidequest) -> None:
    records = await hostile_jobs(sq)
    app = create_app(sq)
    from urllib.parse import quote

    paths = ["/", "/jobs", "/queues", "/partials/counts", "/partials/chart", "/partials/queues"]
    paths += [f"/jobs/{record.id}" for record in records]
    for payload in PAYLOADS:
        q = quote(payload, safe="")
        paths += [
            f"/jobs?search={q}",
            f"/jobs?queue={q}",
            f"/jobs?job_class={q}",
            f"/jobs?state={q}",
            f"/jobs?since={q}",
            f"/?range={q}",
            f"/queues/{q}",
        ]
    seen_payload_text = 0
    async with client_for(app) as http:
        for path in paths:
            response = await http.get(path)
            assert response.status_code < 500, path
            if not response.headers["content-type"].startswith("text/html"):
                continue
            result = inspect(response.text)
            assert not result.problems, (path, result.problems)
            seen_payload_text += sum("alert(1)" in chunk for chunk in result.text)
        token = await csrf_token(http)
        for payload in PAYLOADS:
            q = quote(payload, safe="")
            for path in (f"/queues/{q}/pause", f"/jobs/{records[0].id}/{q}"):
                response = await http.post(path, data={"csrf_token": token})
                assert response.status_code in (303, 404), path
                assert not inspect(response.text).problems
            bad = await http.post("/jobs", data={"csrf_token": token, "action": "cancel", "ids": payload})
            assert bad.status_code == 400 and not inspect(bad.text).problems
    assert seen_payload_text > 100, "payloads should be shown, as text"
