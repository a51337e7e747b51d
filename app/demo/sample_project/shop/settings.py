import os

DEBUG = True
SECRET_KEY = "django-insecure-9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
JWT_SECRET = "hunter2-super-secret-jwt-signing-key"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://shop:shop@localhost/shop")
