"""``vigil users create|list|set-role|disable|enable``."""

from __future__ import annotations

import click

from app.cli.context import console_actor, transaction
from app.security.passwords import generate_password
from app.services import users as user_service


@click.group("users")
def users_group() -> None:
    """Manage users and roles."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", default="viewer", show_default=True, help="admin, approver, analyst or viewer")
@click.option("--email", default=None)
@click.option("--display-name", default="")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input instead of generating one."
)
def create_cmd(username: str, role: str, email: str | None, display_name: str, password_stdin: bool) -> None:
    """Create a user. Without --password-stdin a one-time password is generated and shown once."""
    parsed_role = user_service.parse_role(role)
    generated = not password_stdin
    password = generate_password() if generated else click.get_text_stream("stdin").readline().rstrip("\n")
    with transaction() as session:
        user = user_service.create_user(
            session,
            console_actor(),
            username=username,
            password=password,
            role=parsed_role,
            email=email,
            display_name=display_name,
            must_change_password=generated,
        )
        name = user.username
    click.echo(f"created {name} ({parsed_role.value})")
    if generated:
        click.echo(f"one-time password (shown once, must be changed at first login): {password}")


@users_group.command("list")
def list_cmd() -> None:
    """List users with their role and state."""
    with transaction() as session:
        for user in user_service.list_users(session):
            state = "active" if user.active else "disabled"
            click.echo(f"{user.username}\t{user.role.value}\t{state}")


@users_group.command("set-role")
@click.argument("username")
@click.argument("role")
def set_role_cmd(username: str, role: str) -> None:
    """Change a user's role (their sessions end)."""
    parsed = user_service.parse_role(role)
    with transaction() as session:
        user_service.set_role(session, console_actor(), username, parsed)
    click.echo(f"{username} is now {parsed.value}")


@users_group.command("disable")
@click.argument("username")
def disable_cmd(username: str) -> None:
    """Disable a user and end all their sessions."""
    with transaction() as session:
        user_service.set_active(session, console_actor(), username, False)
    click.echo(f"{username} disabled")


@users_group.command("enable")
@click.argument("username")
def enable_cmd(username: str) -> None:
    """Re-enable a disabled user."""
    with transaction() as session:
        user_service.set_active(session, console_actor(), username, True)
    click.echo(f"{username} enabled")


commands = [users_group]
