import subprocess


def quiet_shell(cmd):
    return subprocess.call(cmd, shell=True)  # nosec B602


def quieter_shell(cmd):
    return subprocess.call(cmd, shell=True)  # noqa: S602


def quietest_shell(cmd):
    return subprocess.call(cmd, shell=True)  # nosemgrep: vigil-subprocess-shell-true


db_password = "Zx9-sample-allowlisted-pass"  # pragma: allowlist secret
