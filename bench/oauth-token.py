#!/usr/bin/env python3
"""Gets an OAuth access token from a Gatehouse gateway without a browser, for bench/run.sh.

It plays the user agent and the MCP client of the authorization code flow with PKCE (OAuth 2.1 §4.1, RFC 7636 S256)
against the built-in identity provider, as tests/Gatehouse.Tests/Infrastructure/OAuthFlow.cs does in C#:

  1. GET  /.gatehouse/sign_in                 the antiforgery token (csrf_token field and its cookie)
  2. POST /.gatehouse/sign_in                 email and password: the session cookie
  3. GET  /.gatehouse/oauth/authorize?...     with resource= the MCP route's URL (RFC 8707): the consent page
  4. POST /.gatehouse/oauth/authorize         the consent form's hidden fields and gatehouse_consent=allow
  5. the code from the Location header of the redirect to the client
  6. POST /.gatehouse/oauth/token             code + code_verifier: the access token, printed on standard output

Cookies are sent by hand: the session cookie is `__Host-gatehouse_session` and Secure, and a cookie jar would not
send a Secure cookie over http://127.0.0.1. Python 3 standard library only; loopback http only.

  bench/oauth-token.py --gateway http://127.0.0.1:18080 --resource http://127.0.0.1:18080/protected \\
      --client-id gatehouse-bench --redirect-uri http://127.0.0.1/cb --email bench@example.com --password-file FILE
"""

import argparse
import base64
import hashlib
import http.client
import json
import secrets
import sys
import urllib.parse
from html.parser import HTMLParser


class Inputs(HTMLParser):
    """The <input> elements of a page, as (name, value, type) in document order (values HTML-decoded)."""

    def __init__(self):
        super().__init__()
        self.inputs = []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            a = dict(attrs)
            if a.get("name"):
                self.inputs.append((a["name"], a.get("value") or "", a.get("type") or "text"))


def inputs(body):
    parser = Inputs()
    parser.feed(body.decode("utf-8", "replace"))
    return parser.inputs


class Agent:
    """One user agent: a single loopback HTTP connection target and the cookies it was given."""

    def __init__(self, gateway):
        url = urllib.parse.urlsplit(gateway)
        if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
            fail("setup", f"--gateway must be a loopback http:// URL, got {gateway}")
        self.netloc = url.netloc
        self.cookies = {}

    def request(self, step, method, path, form=None, expect=(200,)):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(self.netloc, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as e:
            fail(step, f"{method} {path}: {e}")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in header.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if response.status not in expect:
            fail(step, f"{method} {urllib.parse.urlsplit(path).path} answered {response.status}, expected {expect}: "
                       f"{response.getheader('Location') or data[:500].decode('utf-8', 'replace')}")
        return response, data


def fail(step, message):
    print(f"oauth-token.py: {step}: {message}", file=sys.stderr)
    sys.exit(1)


def base64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", required=True, help="the gateway's base URL, http://127.0.0.1:PORT")
    parser.add_argument("--resource", required=True, help="the MCP server route's URL (RFC 8707 resource)")
    parser.add_argument("--client-id", required=True, help="a public client registered in the file's clients:")
    parser.add_argument("--redirect-uri", required=True, help="one of that client's redirect_uris")
    parser.add_argument("--email", required=True, help="a built-in user")
    parser.add_argument("--password-file", required=True, help="a file whose first line is that user's password")
    args = parser.parse_args()

    with open(args.password_file, encoding="utf-8") as f:
        password = f.readline().rstrip("\r\n")

    agent = Agent(args.gateway)

    # 1-2. Sign in through the built-in provider's form.
    _, page = agent.request("sign-in page", "GET", "/.gatehouse/sign_in")
    csrf = next((value for name, value, _ in inputs(page) if name == "csrf_token"), None) or fail(
        "sign-in page", "no csrf_token field in the form")
    agent.request("sign-in", "POST", "/.gatehouse/sign_in", expect=(302, 303),
                  form={"csrf_token": csrf, "redirect_uri": "/", "email": args.email, "password": password})
    if "__Host-gatehouse_session" not in agent.cookies:
        fail("sign-in", "no session cookie was set: wrong email or password?")

    # 3-5. The authorization request (PKCE S256), the consent form, the code.
    verifier = base64url(secrets.token_bytes(32))
    state = base64url(secrets.token_bytes(16))
    query = urllib.parse.urlencode({
        "response_type": "code",
        "client_id": args.client_id,
        "redirect_uri": args.redirect_uri,
        "code_challenge": base64url(hashlib.sha256(verifier.encode("ascii")).digest()),
        "code_challenge_method": "S256",
        "state": state,
        "scope": "openid offline_access",
        "resource": args.resource,
    })
    response, page = agent.request("authorize", "GET", "/.gatehouse/oauth/authorize?" + query, expect=(200, 302, 303))
    if response.status == 200:
        fields = [(name, value) for name, value, kind in inputs(page) if kind == "hidden"]
        fields.append(("gatehouse_consent", "allow"))
        response, _ = agent.request("consent", "POST", "/.gatehouse/oauth/authorize", form=fields, expect=(302, 303))
    location = urllib.parse.urlsplit(response.getheader("Location") or "")
    redirect = urllib.parse.parse_qs(location.query)
    if redirect.get("state") != [state] or "code" not in redirect:
        fail("authorize", f"the redirect to the client carries no code for this state: {urllib.parse.urlunsplit(location)}")

    # 6. The token request: the code, the verifier, the same resource.
    _, data = agent.request("token", "POST", "/.gatehouse/oauth/token", form={
        "grant_type": "authorization_code",
        "code": redirect["code"][0],
        "redirect_uri": args.redirect_uri,
        "client_id": args.client_id,
        "code_verifier": verifier,
        "resource": args.resource,
    })
    answer = json.loads(data)
    if answer.get("token_type", "").lower() != "bearer" or not answer.get("access_token"):
        fail("token", f"no bearer access token in the answer (keys: {', '.join(sorted(answer))})")
    print(answer["access_token"])


if __name__ == "__main__":
    main()
