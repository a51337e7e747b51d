def parse_port(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RuntimeError("bad port")


def label(kind: str, premium: bool) -> str:
    if kind == "user":
        if premium:
            return "premium user"
    return "other"


def colour(name: str) -> str:
    if name == "red":
        return "#f00"
    elif name == "green":
        return "#0f0"
    elif name == "blue":
        return "#00f"
    return "#000"


def total(items: list[int]) -> str:
    return sum(items)


def greet(name: str) -> str:
    return "hello " + name


greet(42)
