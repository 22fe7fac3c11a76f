"""A local OAuth 2 provider shaped like Discord's, for the login tests, built on authlib's authorization server (Flask):
the authorization-code grant with PKCE required (S256 only), client_secret_post authentication, single-use codes
(authlib refuses a code twice: the grant deletes it), bearer tokens, and a user endpoint answering as Discord's
`/users/@me` does (`{id, username, global_name, email, verified}`).

    python3 oauth_provider.py --ready FILE --client-id ID --client-secret SECRET [--default-user NAME]

Writes its port to FILE once it listens on 127.0.0.1. Endpoints:
- GET  /oauth2/authorize?...&user=NAME  the provider's consent, already given by NAME (a test picks the user with
                                         `user`; a browser gets --default-user); `user=deny` refuses (access_denied)
- POST /api/oauth2/token                 code + code_verifier for an access token
- GET  /api/users/@me                    the token's user
- POST /control/users                    {name: {id, username, email, verified}}: the users the provider knows
"""
import argparse
import logging
import os
import secrets
import sys
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

USERS = {}  # name -> {id, username, email, verified}
CODES = {}  # code -> Code
TOKENS = {}  # access token -> Token


class User:
    def __init__(self, name):
        self.name = name

    def get_user_id(self):
        return USERS[self.name]["id"]


class Client:
    def __init__(self, client_id, secret):
        self.client_id, self.secret = client_id, secret

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in ("identify", "email"))

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri.startswith("http://") or redirect_uri.startswith("https://")

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint != "token" or method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


class Code:
    def __init__(self, code, client_id, redirect_uri, scope, user, challenge, method):
        self.code, self.client_id, self.redirect_uri, self.scope, self.user = code, client_id, redirect_uri, scope, user
        self.code_challenge, self.code_challenge_method = challenge, method
        self.auth_time = time.time()

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_auth_time(self):
        return self.auth_time

    def get_nonce(self):
        return None

    def get_code_challenge(self):
        return self.code_challenge

    def get_code_challenge_method(self):
        return self.code_challenge_method

    def is_expired(self):
        return time.time() - self.auth_time > 300


class Token:
    def __init__(self, data, user):
        self.data, self.user = data, user
        self.issued = time.time()

    def get_scope(self):
        return self.data.get("scope", "")

    def is_expired(self):
        return time.time() - self.issued > self.data.get("expires_in", 3600)

    def is_revoked(self):
        return False


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"]

    def save_authorization_code(self, code, request):
        data = request.payload.data if hasattr(request, "payload") else request.data
        CODES[code] = Code(code, request.client.client_id, request.redirect_uri, request.scope, request.user.name,
                           data.get("code_challenge"), data.get("code_challenge_method"))

    def query_authorization_code(self, code, client):
        item = CODES.get(code)
        if item and item.client_id == client.client_id and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        CODES.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return User(authorization_code.user) if authorization_code.user in USERS else None


class Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return TOKENS.get(token_string)


def main():
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # served over plain HTTP on 127.0.0.1
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--default-user")
    arguments = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    client = Client(arguments.client_id, arguments.client_secret)
    app = Flask(__name__)
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 3600}

    def save_token(data, request):
        TOKENS[data["access_token"]] = Token(data, request.user.name)

    server = AuthorizationServer(app, query_client=lambda client_id: client if client_id == client.client_id else None, save_token=save_token)
    server.register_grant(CodeGrant, [CodeChallenge(required=True)])
    protector = ResourceProtector()
    protector.register_token_validator(Validator())

    @app.get("/oauth2/authorize")
    def authorize():
        name = request.args.get("user") or arguments.default_user
        if name == "deny" or name not in USERS:
            return server.create_authorization_response(grant_user=None)
        return server.create_authorization_response(grant_user=User(name))

    @app.post("/api/oauth2/token")
    def token():
        return server.create_token_response()

    @app.get("/api/users/@me")
    @protector("identify")
    def me():
        user = USERS[current_token.user]
        answer = {"id": user["id"], "username": user["username"], "global_name": user.get("global_name"), "avatar": None}
        if "email" in current_token.get_scope().split():
            answer["email"] = user.get("email")
            answer["verified"] = user.get("verified", False)
        return jsonify(answer)

    @app.post("/control/users")
    def add_users():
        USERS.update(request.get_json())
        return jsonify({"users": len(USERS)})

    listener = make_server("127.0.0.1", 0, app, threaded=True)
    port = listener.server_port
    with open(arguments.ready + ".tmp", "w") as ready:
        ready.write(str(port))
    os.replace(arguments.ready + ".tmp", arguments.ready)
    print(f"oauth provider on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    listener.serve_forever()


if __name__ == "__main__":
    main()
