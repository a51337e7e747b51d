import hashlib
import pickle
import random
import subprocess

import yaml


def run_report(name):
    return subprocess.call("generate-report " + name, shell=True)


def load_cart(blob):
    return pickle.loads(blob)


def load_config(text):
    return yaml.load(text)


def hash_password(password):
    return hashlib.md5(password.encode()).hexdigest()


def discount_code():
    return "".join(random.choice("ABCDEFGH") for _ in range(8))


def calculate(expression):
    return eval(expression)


def apply_coupon(cart, code):
    try:
        cart.apply(code)
    except Exception:
        pass
    if cart.total > 100:
        if code.startswith("VIP"):
            cart.discount(0.2)
    return cart
