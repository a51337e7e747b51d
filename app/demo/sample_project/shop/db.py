import sqlite3


def find_user(conn: sqlite3.Connection, username: str):
    query = "SELECT * FROM users WHERE name = '%s'" % username
    return conn.execute(query).fetchall()


def fetch(url):
    import requests

    return requests.get(url, verify=False)
