import hashlib
import os
import pickle
import random
import subprocess

import requests
import yaml


def run_report(name):
    return subprocess.call("generate-report " + name, shell=True)


def archive(path):
    subprocess.Popen(f"tar czf /tmp/out.tgz {path}", shell=True)


def load_cart(blob):
    return pickle.loads(blob)


def load_config(text):
    return yaml.load(text)


def hash_password(password):
    return hashlib.md5(password.encode()).hexdigest()


def hash_password_v2(password, salt):
    return hashlib.sha256(salt + password.encode()).hexdigest()


def discount_code():
    return "".join(random.choice("ABCDEFGH") for _ in range(8))


def calculate(expression):
    return eval(expression)


def run_plugin(source):
    exec(source)


def apply_coupon(cart, code):
    try:
        cart.apply(code)
    except Exception:
        pass
    assert cart.total >= 0
    return cart


def fetch(url):
    return requests.get(url, verify=False)


def cleanup(name):
    os.system("rm -rf /tmp/" + name)
