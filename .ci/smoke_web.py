"""Smoke test of a production-like gunicorn that .ci/run started: python .ci/smoke_web.py PORT HOST

Checks /healthz (database and broker up), the HTTPS redirect, the security headers behind a TLS
proxy, and that pages link hashed static files (whitenoise's manifest) which are then served.
"""

import http.client
import json
import re
import sys
import time


def get(port: int, host: str, path: str, *, https: bool = False) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host}
    if https:
        headers["X-Forwarded-Proto"] = "https"
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def expect(condition: bool, message: str) -> None:
    if not condition:
        print(f"smoke: FAILED: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"smoke: ok: {message}")


def main(port: int, host: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            health = get(port, host, "/healthz")
            break
        except OSError:
            if time.monotonic() > deadline:
                expect(False, f"gunicorn answers on port {port} within 60 s")
            time.sleep(0.5)
    payload = json.loads(health.body)
    expect(health.status == 200, f"/healthz answers 200 over plain HTTP ({health.status})")
    expect(payload["database"].get("vendor") == "postgresql", "/healthz: PostgreSQL is up")
    expect(payload["broker"].get("mode") == "redis", "/healthz: the Redis broker is up")

    plain = get(port, host, "/accounts/login/")
    location = plain.getheader("Location", "")
    expect(
        plain.status == 301 and location.startswith(f"https://{host}/"),
        f"plain HTTP redirects to HTTPS ({plain.status} {location})",
    )

    page = get(port, host, "/accounts/login/", https=True)
    expect(page.status == 200, f"the sign-in page renders behind the TLS proxy ({page.status})")
    for header in ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options"):
        expect(bool(page.getheader(header)), f"the sign-in page sends {header}")
    html = page.body.decode()
    assets = sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html)))
    hashed = [url for url in assets if re.search(r"\.[0-9a-f]{12}\.\w+$", url)]
    expect(bool(assets) and hashed == assets, f"all {len(assets)} static URLs are hashed")
    for url in assets:
        asset = get(port, host, url, https=True)
        expect(asset.status == 200, f"{url} is served ({asset.status})")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
