"""A fake EC2 instance metadata service (IMDSv2 only) for the NixOS VM test.

Serves what nixboot reads: PUT /latest/api/token, then, with that token, GET /latest/user-data
(the file DATA_DIR/user-data, 404 when absent), /latest/dynamic/instance-identity/document,
/latest/meta-data/instance-id and /latest/meta-data/placement/region. The Auto Scaling paths (group tag, target lifecycle state)
answer 404, as on an instance outside any group. Requests without a valid token get 401, as on
an instance with IMDSv1 disabled. Each request is logged on stdout (the journal) for the test.
"""

import argparse
import json
import http.server
import os
import secrets
import sys

TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
INSTANCE_ID = "i-0123456789abcdef0"
REGION = "eu-west-1"


def make_handler(data_dir: str, token: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "fake-imds"

        def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
            sys.stdout.write("%s %s\n" % (self.address_string(), format % args))
            sys.stdout.flush()

        def answer(self, status: int, body: bytes = b"", headers=None):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self):
            if self.path != "/latest/api/token":
                return self.answer(404)
            ttl = self.headers.get(TOKEN_TTL_HEADER, "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.answer(400)
            self.answer(200, token.encode(), {TOKEN_TTL_HEADER: ttl})

        def do_GET(self):
            if self.headers.get(TOKEN_HEADER) != token:
                return self.answer(401)
            if self.path == "/latest/user-data":
                try:
                    with open(os.path.join(data_dir, "user-data"), "rb") as userdata:
                        return self.answer(200, userdata.read())
                except FileNotFoundError:
                    return self.answer(404)
            static = {
                "/latest/meta-data/instance-id": INSTANCE_ID,
                "/latest/meta-data/placement/region": REGION,
                "/latest/dynamic/instance-identity/document": json.dumps(
                    {"instanceId": INSTANCE_ID, "region": REGION, "accountId": "123456789012", "architecture": "x86_64"}
                ),
            }
            if self.path in static:
                return self.answer(200, static[self.path].encode())
            self.answer(404)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--data", required=True, help="directory holding user-data")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer((args.address, args.port), make_handler(args.data, secrets.token_hex(16)))
    # One line the caller can wait for, with the port (0 asks for any free one).
    print("fake-imds listening on %s:%d" % (args.address, server.server_address[1]), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
