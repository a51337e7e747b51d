"""One rule, one finding: map each tool's rule id to a canonical rule id.

Bandit, ruff's flake8-bandit port (``S`` codes) and Vigil's shipped semgrep rules often check the
same thing. Finding identity uses the canonical rule, so running three tools over the same line
yields one finding, not three. The table lives in code (not the database) so it is reviewed like
code and tested; a rule nobody mapped keeps its own identity as ``<tool>:<rule>``.

Ruff numbers its ``S`` rules after bandit's ``B`` tests (S602 checks what B602 checks), so only the
bandit table is written out and ruff codes are looked up through it.
"""

from __future__ import annotations

import re

# Bandit test id -> canonical rule id. The canonical id is the bandit test name, prefixed ``py.``:
# stable, documented upstream, and readable in the dashboard.
BANDIT_RULES: dict[str, str] = {
    "B101": "py.assert_used",
    "B102": "py.exec_used",
    "B103": "py.set_bad_file_permissions",
    "B104": "py.hardcoded_bind_all_interfaces",
    "B105": "py.hardcoded_password_string",
    "B106": "py.hardcoded_password_funcarg",
    "B107": "py.hardcoded_password_default",
    "B108": "py.hardcoded_tmp_directory",
    "B110": "py.try_except_pass",
    "B112": "py.try_except_continue",
    "B113": "py.request_without_timeout",
    "B201": "py.flask_debug_true",
    "B202": "py.tarfile_unsafe_members",
    "B301": "py.pickle",
    "B302": "py.marshal",
    "B303": "py.insecure_hash",
    "B304": "py.insecure_cipher",
    "B305": "py.insecure_cipher_mode",
    "B306": "py.mktemp",
    "B307": "py.eval_used",
    "B308": "py.mark_safe",
    "B310": "py.urllib_urlopen",
    "B311": "py.random",
    "B312": "py.telnetlib",
    "B313": "py.xml_bad_celementtree",
    "B314": "py.xml_bad_elementtree",
    "B315": "py.xml_bad_expatreader",
    "B316": "py.xml_bad_expatbuilder",
    "B317": "py.xml_bad_sax",
    "B318": "py.xml_bad_minidom",
    "B319": "py.xml_bad_pulldom",
    "B320": "py.xml_bad_etree",
    "B321": "py.ftplib",
    "B323": "py.unverified_context",
    "B324": "py.hashlib_insecure_functions",
    "B401": "py.import_telnetlib",
    "B402": "py.import_ftplib",
    "B403": "py.import_pickle",
    "B404": "py.import_subprocess",
    "B405": "py.import_xml_etree",
    "B406": "py.import_xml_sax",
    "B407": "py.import_xml_expat",
    "B408": "py.import_xml_minidom",
    "B409": "py.import_xml_pulldom",
    "B410": "py.import_lxml",
    "B411": "py.import_xmlrpclib",
    "B412": "py.import_httpoxy",
    "B413": "py.import_pycrypto",
    "B415": "py.import_pyghmi",
    "B501": "py.request_with_no_cert_validation",
    "B502": "py.ssl_with_bad_version",
    "B503": "py.ssl_with_bad_defaults",
    "B504": "py.ssl_with_no_version",
    "B505": "py.weak_cryptographic_key",
    "B506": "py.yaml_load",
    "B507": "py.ssh_no_host_key_verification",
    "B508": "py.snmp_insecure_version",
    "B509": "py.snmp_weak_cryptography",
    "B601": "py.paramiko_calls",
    "B602": "py.subprocess_popen_with_shell_equals_true",
    "B603": "py.subprocess_without_shell_equals_true",
    "B604": "py.any_other_function_with_shell_equals_true",
    "B605": "py.start_process_with_a_shell",
    "B606": "py.start_process_with_no_shell",
    "B607": "py.start_process_with_partial_path",
    "B608": "py.hardcoded_sql_expressions",
    "B609": "py.linux_commands_wildcard_injection",
    "B610": "py.django_extra_used",
    "B611": "py.django_rawsql_used",
    "B612": "py.logging_config_insecure_listen",
    "B613": "py.trojansource",
    "B614": "py.pytorch_load",
    "B615": "py.huggingface_unsafe_download",
    "B701": "py.jinja2_autoescape_false",
    "B702": "py.use_of_mako_templates",
    "B703": "py.django_mark_safe",
    "B704": "py.markupsafe_markup_xss",
}

# Ruff codes whose number does not mirror bandit's, or that have no bandit twin but do have a
# bandit-equivalent meaning. Empty today: kept so an exception is one line, not a code change.
RUFF_EXCEPTIONS: dict[str, str] = {}

# Semgrep rule ids -> canonical. Vigil's shipped rules (app/scanners/rules/semgrep) first; then the
# common registry rules a team's uploaded semgrep report is likely to carry for the same checks.
SEMGREP_RULES: dict[str, str] = {
    # shipped with Vigil
    "vigil-hardcoded-secret-key": "py.hardcoded_password_string",
    "vigil-subprocess-shell-true": "py.subprocess_popen_with_shell_equals_true",
    "vigil-unsafe-pickle": "py.pickle",
    "vigil-unsafe-yaml-load": "py.yaml_load",
    "vigil-eval-used": "py.eval_used",
    "vigil-exec-used": "py.exec_used",
    "vigil-weak-password-hash": "py.weak_password_hash",
    "vigil-str-field-should-be-enum": "py.str_field_should_be_enum",
    "vigil-untyped-dict-body": "py.untyped_dict_body",
    # registry rules checking the same things (last component of the dotted check id)
    "subprocess-shell-true": "py.subprocess_popen_with_shell_equals_true",
    "avoid-pickle": "py.pickle",
    "avoid-pyyaml-load": "py.yaml_load",
    "eval-detected": "py.eval_used",
    "exec-detected": "py.exec_used",
    "jwt-python-hardcoded-secret": "py.hardcoded_password_string",  # pragma: allowlist secret - rule ids
}

SHIPPED_SEMGREP_RULES = frozenset(rule for rule in SEMGREP_RULES if rule.startswith("vigil-"))

_BANDIT_CODE = re.compile(r"^B\d{3}$")
_RUFF_S_CODE = re.compile(r"^S(\d{3})$")


def semgrep_rule_name(check_id: str) -> str:
    """The bare rule name of a semgrep check id.

    Semgrep prefixes a local rule's id with the dotted directory of its config file (so the same rule
    is ``work.main.app.scanners.rules.semgrep.vigil-eval-used`` on one machine and something else on
    another); registry ids are dotted paths ending in the rule name. Vigil's own rules are recognised
    wherever the config lived.
    """
    last = check_id.rsplit(".", 1)[-1]
    return last if last in SEMGREP_RULES else check_id


def canonical_rule_id(tool: str, tool_rule_id: str) -> str:
    """The rule id used for finding identity: shared where tools check the same thing.

    Unknown rules map to ``<tool>:<rule>`` so two tools can never collide by accident.
    """
    tool = tool.strip().lower()
    rule = tool_rule_id.strip()
    if tool == "bandit":
        code = rule.upper()
        if code in BANDIT_RULES:
            return BANDIT_RULES[code]
    elif tool == "ruff":
        code = rule.upper()
        if code in RUFF_EXCEPTIONS:
            return RUFF_EXCEPTIONS[code]
        match = _RUFF_S_CODE.match(code)
        if match and f"B{match.group(1)}" in BANDIT_RULES:
            return BANDIT_RULES[f"B{match.group(1)}"]
    elif tool == "semgrep":
        name = semgrep_rule_name(rule)
        if name in SEMGREP_RULES:
            return SEMGREP_RULES[name]
    return f"{tool}:{rule}"


def is_bandit_code(rule: str) -> bool:
    """True for a bandit test id such as ``B602`` (used by SARIF importers to spot bandit rules)."""
    return bool(_BANDIT_CODE.match(rule.upper()))
