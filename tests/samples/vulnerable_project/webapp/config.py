import jwt

DEBUG = True
SECRET_KEY = "sample-insecure-9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
JWT_SECRET = "hunter2-super-secret-jwt-signing-key"
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
password = "Tr0ub4dor&3-sample-not-real"


def make_token(claims):
    return jwt.encode(claims, "another-hardcoded-signing-key", algorithm="HS256")
